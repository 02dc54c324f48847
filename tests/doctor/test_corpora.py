"""The doctor over its two corpora (tests/doctor/corpus.py): no finding on any of the
healthy runs, and each broken run gets its finding (with at most the findings that
describe the same failure). `python tests/doctor/corpus.py` prints precision and recall."""
import pytest

import corpus

pytestmark = pytest.mark.slow


def test_the_healthy_corpus_is_big_and_varied():
    assert len(corpus.HEALTHY) >= 25
    assert len({run.__name__ for run in corpus.HEALTHY}) == len(corpus.HEALTHY)


@pytest.mark.parametrize("run", corpus.HEALTHY, ids=lambda run: run.__name__)
def test_healthy_run_gets_no_finding(run):
    found, error = corpus.findings(run)
    assert error is None and found == set()


@pytest.mark.parametrize("run, expected, companions", corpus.BROKEN,
                         ids=lambda v: getattr(v, "__name__", None) if callable(v) else "")
def test_broken_run_gets_its_finding(run, expected, companions):
    found, error = corpus.findings(run)
    if isinstance(expected, str):
        assert error is None
        assert expected in found
        assert found - {expected} <= companions
    else:
        assert isinstance(error, expected) and found == set()
