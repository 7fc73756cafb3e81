"""python -m adlab fit ...: protocols, the JSON line, and one-line errors with exit status 2."""

import json
import subprocess
import sys

import numpy as np
import pytest

from adlab.cli import load_problem, main


def _run(*args):
    return subprocess.run([sys.executable, "-m", "adlab", *args], capture_output=True, text=True, timeout=300)


def test_json_line_has_the_promised_fields():
    out = _run("fit", "knn", "--data", "digits", "--normal-class", "3", "--seed", "1", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    for key in ("method", "data", "auroc", "auprc", "f1", "seconds", "n_train", "n_test", "device", "seed"):
        assert key in result, key
    assert result["method"] == "knn" and result["seed"] == 1 and result["device"] == "cpu"
    assert 0.9 < result["auroc"] <= 1.0


@pytest.mark.parametrize(
    "args, words",
    [
        (["fit", "knn", "--data", "nonsense"], "unknown data SPEC"),
        (["fit", "knn", "--data", "toy:spiral"], "unknown toy set"),
        (["fit", "knn", "--data", "digits", "--normal-class", "12"], "valid classes"),
        (["fit", "knn", "--data", "/no/such/file.mat"], "no such file"),
        (["fit", "knn", "--data", "mnist-idx:/no/such/folder"], "mnist"),
        (["fit", "knn", "--data", "digits", "--epochs", "3"], "epochs"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_status_2(args, words, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("adlab: error:")
    assert words.lower() in err.lower()


def test_labelled_file_follows_goads_protocol(tmp_path):
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(size=(200, 4)), rng.normal(6, 1, size=(20, 4))]).astype(np.float32)
    y = np.r_[np.zeros(200), np.ones(20)]
    np.savez(tmp_path / "toy.npz", X=X, y=y)
    problem = load_problem(str(tmp_path / "toy.npz"), seed=0)
    assert len(problem.X_train) == 100  # half of the normals
    assert len(problem.X_test) == 100 + 20 and problem.is_anomaly.sum() == 20
    assert main(["fit", "iforest", "--data", str(tmp_path / "toy.npz"), "--json"]) == 0


def test_pickled_npz_is_refused(tmp_path, capsys):
    np.savez(tmp_path / "obj.npz", X=np.array([{"a": 1}], dtype=object), y=np.array([0]))
    assert main(["fit", "knn", "--data", str(tmp_path / "obj.npz")]) == 2
    assert "never loads" in capsys.readouterr().err


def test_mnist_idx_one_class_halves(shared_data):
    problem = load_problem(f"mnist-idx:{shared_data / 'mnist'}", normal_class="1", seed=0)
    assert 500 < len(problem.X_train) < 650  # about half of the 1135 ones
    assert 4900 <= len(problem.X_test) <= 5100 and problem.X_train.shape[1:] == (1, 28, 28)


def test_files_go_through_the_upload_loader(tmp_path, capsys):
    """CSV with text labels and a categorical column; the same loader as the app's upload."""
    rng = np.random.default_rng(1)
    lines = ["a,b,proto,kind"]
    for i in range(300):
        attack = i % 10 == 0
        a, b = rng.normal(5 if attack else 0, 1, 2)
        lines.append(f"{a:.3f},{b:.3f},{('tcp', 'udp')[i % 2]},{'attack' if attack else 'normal'}")
    path = tmp_path / "flows.csv"
    path.write_text("\n".join(lines) + "\n")
    problem = load_problem(str(path), seed=0, label_column="kind")
    assert problem.X_train.shape == (135, 4)  # half of 270 normals; a, b + proto one-hot (2)
    assert problem.is_anomaly.sum() == 30 and len(problem.X_test) == 135 + 30
    assert main(["fit", "knn", "--data", str(path), "--label-column", "kind", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["auroc"] > 0.95
    assert main(["fit", "knn", "--data", str(path), "--label-column", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
    assert main(["fit", "knn", "--data", str(path), "--label-column", "kind", "--normal-class", "benign"]) == 2
    assert "valid classes" in capsys.readouterr().err


def test_unlabelled_and_pickled_files_are_one_line_errors(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((50, 3), np.float32))
    assert main(["fit", "knn", "--data", str(tmp_path / "x.npy")]) == 2
    assert "no labels" in capsys.readouterr().err
    (tmp_path / "model.pkl").write_bytes(b"\x80\x04K\x01.")
    assert main(["fit", "knn", "--data", str(tmp_path / "model.pkl")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "pickle" in err


def test_run_card_names_the_papers_number_on_thyroid(shared_data, tmp_path, capsys):
    card = tmp_path / "card.md"
    thyroid = shared_data / "odds" / "thyroid.mat"
    assert main(["fit", "goad", "--data", str(thyroid), "--card", str(card), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert result["protocol"] == "goad-tabular:thyroid"
    # the quick defaults (M = 32, 1 epoch) work on real rows: 0.96 here; M = 16 / 10 epochs gave 0.50
    assert result["auroc"] > 0.9
    text = card.read_text()
    assert "74.5" in text and "Bergman" in text and f"{result['f1']:.4f}" in text


def test_mnist_sized_images_get_the_mnist_presets(shared_data, tmp_path, capsys):
    """From the CLI, 28x28 grey images train CSI with CSI.preset("mnist") (the run card lists it)."""
    card = tmp_path / "card.md"
    args = ["fit", "csi", "--data", f"mnist-idx:{shared_data / 'mnist'}", "--normal-class", "1", "--epochs", "1",
            "--card", str(card), "--json"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert result["n_train"] > 400 and 0.0 <= result["auroc"] <= 1.0
    text = card.read_text()
    assert "| simclr_dim | 32 |" in text and "| crop_scale | 1.0 |" in text and "| score_augment | false |" in text
