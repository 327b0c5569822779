"""Durations are shown in the unit their rounded value needs: never "60 s" in a minute or "1000 ms"."""

import pytest

from chainstudio.core.formatting import fmt_duration


@pytest.mark.parametrize(
    "seconds,shown",
    [
        (0.3404, "340 ms"),
        (0.9994, "999 ms"),
        (0.9996, "1.00 s"),
        (2.414, "2.41 s"),
        (9.996, "10.0 s"),
        (15.44, "15.4 s"),
        (59.96, "1 min 00 s"),
        (65.2, "1 min 05 s"),
        (4079.6, "68 min 00 s"),  # was "67 min 60 s" in the Gantt's header
        (4079.4, "67 min 59 s"),
        (None, "—"),
        (-2.414, "-2.41 s"),
    ],
)
def test_a_duration_is_shown_in_the_unit_its_rounded_value_needs(seconds, shown):
    assert fmt_duration(seconds) == shown
