"""docs/custom-training.md: every python block runs as written, in order."""
import pathlib
import re

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "custom-training.md"


def test_custom_training_doc_examples_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 6
    namespace = {"__name__": "custom_training_doc"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"{DOC.name}[block {i}]", "exec"), namespace)
    printed = capsys.readouterr().out
    assert "call on ArrayImpl (32, 8)" in printed       # run_eagerly: concrete arrays
