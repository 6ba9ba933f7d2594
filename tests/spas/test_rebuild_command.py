"""The shared rebuild command refuses a subclass that leaves out one of its two hooks."""

import pytest

from spas.rebuild_command import SpaRebuildCommand


def test_a_rebuild_command_must_say_how_to_rebuild_and_how_to_compare():
    class OnlyRebuilds(SpaRebuildCommand):
        def rebuild_spa(self, spa):
            return 0

    with pytest.raises(TypeError, match="differences"):
        OnlyRebuilds()
