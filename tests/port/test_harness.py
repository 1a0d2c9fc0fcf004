"""The harness's canonicalisation: what it hides (ids, timestamps) and what it still tells apart."""

from harness import Canon, caught


def test_interrupt_ids_become_labels_by_first_sight_so_reuse_and_difference_still_show():
    from engine.types import Interrupt

    one, two = Interrupt(value="q", id="a" * 32), Interrupt(value="q", id="b" * 32)
    assert Canon().canon([one, two, one]) == [("Interrupt", "q", "<interrupt 0>"), ("Interrupt", "q", "<interrupt 1>"),
                                              ("Interrupt", "q", "<interrupt 0>")]
    # a resume map keyed by ids seen before is keyed by their labels
    assert Canon().canon([one, {one.id: "yes"}])[1] == {"<interrupt 0>": "yes"}


def test_checkpoint_ids_become_positions_and_thread_configs_keep_the_thread():
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "x-1"}}
    other = {"configurable": {"thread_id": "t", "checkpoint_ns": "sub:" + "f" * 32, "checkpoint_id": "x-2"}}
    assert Canon().canon([config, other, config]) == [
        {"thread_id": "t", "checkpoint_id": "<checkpoint 0>"},
        {"thread_id": "t", "checkpoint_id": "<checkpoint 1>", "checkpoint_ns": "sub:<task>"},
        {"thread_id": "t", "checkpoint_id": "<checkpoint 0>"}]


def test_caught_names_the_nearest_builtin_error():
    from engine.errors import GraphBuildError

    def boom():
        raise GraphBuildError("x")

    assert caught(boom) == ("raised", "ValueError")
    assert caught(lambda: 1) == 1
