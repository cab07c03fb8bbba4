"""A character-level tokenizer saved as a normal Hugging Face tokenizer directory.

One token per character of printable ASCII plus newline: a ~100-entry vocabulary, exact round trip
(``decode(encode(s)) == s`` for any such string), and character offsets, so GHPO's token-unit hint cutting works
unchanged. Digits are single tokens, which is what lets a ~1M-parameter model do multi-digit arithmetic.

>>> tok = build_char_tokenizer()
>>> tok.decode(tok("12 + 3 = 15\\n")["input_ids"])
'12 + 3 = 15\\n'
"""

from __future__ import annotations

import string

__all__ = ["CHARS", "SPECIAL_TOKENS", "build_char_tokenizer"]

SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>", "<unk>")
CHARS: str = "\n" + "".join(c for c in string.printable if c not in string.whitespace) + " "
"""Every character the tokenizer knows: newline, the 94 visible ASCII characters, space."""


def build_char_tokenizer():
    """A ``PreTrainedTokenizerFast``: one token per character, left padding, eos ``<eos>``, pad ``<pad>``.

    Unknown characters map to ``<unk>`` (they never occur in the organism's task). No BOS is added, so a prompt's
    ids are exactly its characters.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(SPECIAL_TOKENS)}
    for c in CHARS:
        vocab.setdefault(c, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")  # every char its own piece
    tok.decoder = decoders.Fuse()  # concatenate, no spaces in between
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        bos_token="<bos>",
        eos_token="<eos>",
        unk_token="<unk>",
        padding_side="left",
        clean_up_tokenization_spaces=False,
        model_max_length=512,
    )
