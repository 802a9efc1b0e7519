"""The nano model's character-level tokenizer, built with the `tokenizers` library and shipped as tokenizer.json."""

from __future__ import annotations

import string

# The Qwen2-VL chat template's special tokens, first so their ids are stable (0..7).
NANO_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "<|unk|>",
)
MATH_SYMBOLS = "+-×÷=?*/<>%"
NANO_ALPHABET = string.digits + string.ascii_letters + " \n" + ".,:;!'\"()[]_#&@" + MATH_SYMBOLS


def nano_vocab() -> dict[str, int]:
    """Token -> id for the nano vocabulary: special tokens, then one token per character."""
    symbols = list(NANO_SPECIAL_TOKENS) + sorted(set(NANO_ALPHABET), key=NANO_ALPHABET.index)
    return {sym: i for i, sym in enumerate(symbols)}


def build_nano_tokenizer():
    """A `PreTrainedTokenizerFast` that splits text into single characters; unknown ones become <|unk|>."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(vocab=nano_vocab(), unk_token="<|unk|>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")  # every character is a word
    tok.decoder = decoders.Fuse()  # join characters back without spaces
    tok.add_special_tokens(list(NANO_SPECIAL_TOKENS))
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|endoftext|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token="<|unk|>",
        padding_side="right",
    )
