"""imgclf.backend: which backends exist and are chosen, and the thread count."""
import imgclf
import pytest
from imgclf import backend


def test_set_num_threads_refuses_absurd_counts():
    before = imgclf.get_num_threads()
    with pytest.raises(ValueError, match="n must be in"):
        imgclf.set_num_threads(2 ** 31)
    with pytest.raises(ValueError, match="n must be in"):
        imgclf.set_num_threads(backend.max_threads() + 1)
    with pytest.raises(TypeError, match="n must be an int"):
        imgclf.set_num_threads(2.5)
    assert imgclf.get_num_threads() == before
