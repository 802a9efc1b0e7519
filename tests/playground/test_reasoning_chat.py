"""The chat shows each reasoning once, captioned with the chunks it drove."""

from playground.reasoning_chat import after_chunk

USER = {"role": "user", "content": "Put the duck left of the bowl."}


def streamed(chat, text):
    """The chat with `text` streamed into a new assistant message, as the page does while the model reasons."""
    return chat + [{"role": "assistant", "content": text}]


def test_a_reasoning_repeated_at_every_chunk_is_shown_once_with_the_chunks_it_drove():
    chat, turn = [USER], None
    for chunk in range(1, 7):
        chat, turn = after_chunk(streamed(chat, "The duck goes left."), turn, chunk, "The duck goes left.", True, True)
    assert chat == [USER, {"role": "assistant", "content": "The duck goes left.\n\n_drove chunks 1–6_"}]


def test_a_new_reasoning_gets_its_own_message_and_a_kept_one_drives_on():
    chat, turn = after_chunk(streamed([USER], "A."), None, 1, "A.", True, True)
    chat, turn = after_chunk(chat, turn, 2, "A.", False, False)  # cadence "once": chunk 2 acts on chunk 1's text
    chat, turn = after_chunk(streamed(chat, "B."), turn, 3, "B.", True, True)
    assert [m["content"] for m in chat] == [USER["content"], "A.\n\n_drove chunks 1–2_", "B.\n\n_drove chunk 3_"]


def test_a_reasoning_that_did_not_stream_is_added_not_written_over_the_instruction():
    chat, turn = after_chunk([USER], None, 1, "A.", True, False)
    assert chat == [USER, {"role": "assistant", "content": "A.\n\n_drove chunk 1_"}]


def test_an_edited_reasoning_leaves_the_chat_as_it_is():
    chat = [USER, {"role": "user", "content": "(edited reasoning) B."}]
    assert after_chunk(chat, None, 1, "B.", False, False) == (chat, None)
