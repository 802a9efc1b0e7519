"""The chat panel's reasoning: each reasoning shown once, captioned with the chunks it drove.

A model that reasons again at every chunk often writes the same text again; six copies of one line say less than
one line that says "drove chunks 1-6". The text streams into the chat's last message as it is generated; when its
chunk starts acting, `after_chunk` keeps it as a new turn or folds it into the turn before.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ReasoningTurn:
    """One reasoning in the chat: its text, the first and last chunk it drove, and where its message is."""

    text: str
    first: int
    last: int
    index: int  # the message's place in the chat list


def drove_caption(first: int, last: int) -> str:
    """The caption under a reasoning: which chunks acted on it."""
    return f"_drove chunk {first}_" if first == last else f"_drove chunks {first}–{last}_"


def turn_message(turn: ReasoningTurn) -> dict:
    """The turn as a chat message."""
    return {"role": "assistant", "content": f"{turn.text}\n\n{drove_caption(turn.first, turn.last)}"}


def after_chunk(
    chat: list[dict], turn: ReasoningTurn | None, chunk: int, text: str, reasoned: bool, streamed: bool
) -> tuple[list[dict], ReasoningTurn | None]:
    """The chat and its last reasoning turn once `chunk` starts acting on `text`.

    `reasoned`: the text was written at this chunk's look; `streamed`: it streamed into the chat's last message.
    A new text becomes a turn of its own; a text the same as the last turn's drops its streamed copy and the last
    turn drove one chunk more; so does a chunk that acts on the last reasoning without writing one. With no turn
    and nothing written (an edited reasoning the visitor typed, already in the chat) the chat stays as it is.
    """
    if reasoned and (turn is None or turn.text != text):
        if streamed:
            turn = ReasoningTurn(text, chunk, chunk, len(chat) - 1)
        else:
            chat, turn = chat + [{}], ReasoningTurn(text, chunk, chunk, len(chat))
    elif turn is not None:
        if reasoned and streamed:
            chat = chat[:-1]
        turn = replace(turn, last=chunk)
    else:
        return chat, None
    return chat[: turn.index] + [turn_message(turn)] + chat[turn.index + 1 :], turn
