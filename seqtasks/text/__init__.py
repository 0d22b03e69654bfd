"""Text to token ids and back, inside the TensorFlow graph."""

from seqtasks.text.tokenizers import CharTokenizer, WordTokenizer, make_tokenizer
from seqtasks.text.vocab import Vocabulary, VocabularyLookup

__all__ = ["CharTokenizer", "WordTokenizer", "make_tokenizer", "Vocabulary", "VocabularyLookup"]
