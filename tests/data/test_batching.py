import numpy as np

from seqtasks.data.batching import sequence_dataset
from seqtasks.text.encoder import TextEncoder
from seqtasks.text.vocab import Vocabulary


def test_bucketed_batches_keep_every_example_and_pad_with_zero():
    texts = [" ".join(["w"] * n) for n in range(0, 40)]
    encoder = TextEncoder(Vocabulary.build([["w"]]), "word", True, max_length=30)
    targets = np.arange(len(texts), dtype=np.int32)
    dataset = sequence_dataset(texts, targets, encoder, batch_size=4, max_length=30,
                               shuffle=True, seed=1)
    seen = []
    for ids, y in dataset:
        ids = ids.numpy()
        assert ids.shape[1] >= 1
        for row, target in zip(ids, y.numpy()):
            assert (row[: min(target, 30)] == 4).all() and (row[min(target, 30):] == 0).all()
            seen.append(int(target))
    assert sorted(seen) == list(range(40))


def test_shuffling_is_seeded():
    texts = [f"w{i}" for i in range(50)]
    encoder = TextEncoder(Vocabulary.build([texts]), "word", True, max_length=5)
    targets = np.arange(50, dtype=np.int32)

    def order(seed):
        ds = sequence_dataset(texts, targets, encoder, 8, 5, shuffle=True, seed=seed)
        return [int(t) for _, y in ds for t in y.numpy()]

    assert order(3) == order(3) != order(4)
