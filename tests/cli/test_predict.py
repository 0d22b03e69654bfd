"""``seqtasks predict`` checks its paths before it loads the model (and TensorFlow)."""

from helpers import DATA, run_cli


def test_a_missing_output_folder_is_reported_before_the_model_loads(sentiment_export, tmp_path):
    export_dir, _ = sentiment_export
    result = run_cli("predict", export_dir, "--input", DATA / "sentiment" / "valid.tsv",
                     "--output", tmp_path / "missing" / "out.tsv", check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'missing' / 'out.tsv'}: the output directory {tmp_path / 'missing'} "
        "does not exist (create it first)"]
    missing_input = run_cli("predict", export_dir, "--input", tmp_path / "nope.tsv", "--output",
                            tmp_path / "out.tsv", check=False)
    assert missing_input.returncode == 2 and "nope.tsv: file not found" in missing_input.stderr
    assert not (tmp_path / "out.tsv").exists()
