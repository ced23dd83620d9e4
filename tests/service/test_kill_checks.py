"""The kill harness's comparison of a customer's answers with the expected booking."""

from __future__ import annotations

from tests.service.kill_checks import compare

ASK, TAKE, DONE = ("message", "choose one"), ("message", "thanks"), ("message", "MS-")
#: A booking that asks the same thing at two steps.
EXPECTED = [ASK, TAKE, ASK, DONE]


def test_an_answer_sent_again_right_after_itself_is_a_duplicate_not_a_reordering() -> None:
    found = compare([ASK, ASK, TAKE, ASK, DONE], EXPECTED)
    assert found.duplicates == [ASK] and found.in_order


def test_answers_that_came_in_another_order_are_out_of_order() -> None:
    assert not compare([TAKE, ASK, ASK, DONE], EXPECTED).in_order
    assert not compare([ASK, ASK, TAKE, DONE], [*EXPECTED[:2], DONE, ASK]).in_order
