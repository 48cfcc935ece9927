"""Lost utterances, repeated text and displaced words (subgen.evaluate.continuity), and how `subgen eval` shows them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from subgen.cli import app
from subgen.core.types import Cue
from subgen.evaluate.continuity import (
    continuity,
    displaced_words,
    lost_utterances,
    pool_continuity,
    repeated_text,
)

FOX = "The quick brown fox jumps over the lazy dog."
WOODS = "And then it ran far away into the dark woods."
HELLO = "Hello there my dear old friend."
REFERENCE = (Cue(1.0, 4.0, (FOX,)), Cue(6.0, 9.0, (WOODS,)), Cue(50.0, 53.0, (HELLO,)))


def test_a_perfect_hypothesis_has_nothing_to_report():
    found = continuity(REFERENCE, REFERENCE)
    assert (found.lost, found.repeated, found.displaced) == ((), (), ())
    assert found.reference_cues == 3


def test_an_utterance_with_no_cue_near_it_is_lost():
    hypothesis = (Cue(1.0, 4.0, (FOX,)), Cue(50.0, 53.0, (HELLO,)))
    assert lost_utterances(REFERENCE, hypothesis) == [WOODS]


def test_words_shown_more_than_a_second_away_do_not_save_an_utterance():
    late = (Cue(1.0, 4.0, (FOX,)), Cue(10.5, 13.0, (WOODS,)), Cue(50.0, 53.0, (HELLO,)))
    near = (Cue(1.0, 4.0, (FOX,)), Cue(9.8, 13.0, (WOODS,)), Cue(50.0, 53.0, (HELLO,)))
    assert lost_utterances(REFERENCE, late) == [WOODS]
    assert lost_utterances(REFERENCE, near) == []


def test_an_utterance_half_heard_is_kept_and_one_mostly_missed_is_lost():
    half = (Cue(6.0, 9.0, ("and then it ran far",)),)  # 5 of 10 words
    few = (Cue(6.0, 9.0, ("and then it ran",)),)  # 4 of 10
    assert WOODS not in lost_utterances(REFERENCE, half)
    assert WOODS in lost_utterances(REFERENCE, few)


def test_numbers_are_compared_digit_by_digit():
    # The normalizer reads the spoken "five five" as 55 and the written "5 5" as 5 5: the same digits on screen.
    reference = (Cue(1.0, 2.0, ("five five",)), Cue(8.0, 9.0, ("seven of clubs",)))
    assert lost_utterances(reference, (Cue(1.1, 2.1, ("5 5",)), Cue(8.0, 9.0, ("7 of clubs",)))) == []
    assert lost_utterances(reference, (Cue(1.1, 2.1, ("5-5.",)), Cue(8.0, 9.0, ("7 of clubs",)))) == []
    assert lost_utterances(reference, (Cue(1.1, 2.1, ("Six",)), Cue(8.0, 9.0, ("7 of clubs",)))) == ["five five"]
    # A digit shown seconds after its utterance is displaced, whichever way the number was grouped.
    late = (Cue(1.1, 2.1, ("Five,",)), Cue(5.0, 6.0, ("five. All",)), Cue(8.0, 9.0, ("7 of clubs",)))
    assert len(displaced_words(reference, late)) == 1


def test_a_sentence_written_twice_in_a_row_is_repeated_text():
    assert repeated_text(f"{FOX} {WOODS}", f"{FOX} {FOX} {WOODS}") == ["the quick brown fox jumps over the lazy dog"]


def test_a_run_of_six_words_repeated_across_a_join_counts_with_a_word_between():
    hypothesis = "then it ran far away into the so then it ran far away into the dark woods"
    assert repeated_text(WOODS, hypothesis) == ["then it ran far away into the"]


def test_five_words_repeated_or_a_repeat_the_reference_has_are_not_repeated_text():
    assert repeated_text("one two three four five", "one two three four five one two three four five") == []
    said_twice = "We shall go on to the end. We shall go on to the end."
    assert repeated_text(said_twice, said_twice) == []


def test_a_short_sentence_said_twice_counts_only_when_the_reference_does_not_say_it_twice():
    assert repeated_text("Come here. Now.", "Come here. Come here. Now.") == ["come here"]
    assert repeated_text("Come here. Come here. Now.", "Come here. Come here. Now.") == []
    assert repeated_text("No.", "No. No.") == []  # one-word sentences are too common to judge


def test_a_word_attached_to_a_cue_long_before_its_utterance_is_displaced():
    hypothesis = (
        Cue(1.0, 4.0, (FOX,)),
        Cue(6.0, 9.0, (WOODS + " Hello",)),
        Cue(50.2, 53.0, ("there my dear old friend.",)),
    )
    assert displaced_words(REFERENCE, hypothesis) == ["hello shown 6.00-9.00 s, spoken 50.00-53.00 s"]


def test_a_word_within_two_seconds_of_its_cue_is_not_displaced():
    hypothesis = (
        Cue(1.0, 4.0, (FOX,)),
        Cue(6.0, 9.0, (WOODS,)),
        Cue(47.5, 49.0, ("Hello",)),
        Cue(50.0, 53.0, (HELLO[6:],)),
    )
    assert displaced_words(REFERENCE, hypothesis) == []


def test_pooling_adds_the_findings_of_every_file():
    one = continuity(REFERENCE, (Cue(1.0, 4.0, (FOX,)), Cue(50.0, 53.0, (HELLO,))))
    two = continuity(REFERENCE, (Cue(1.0, 4.0, (f"{FOX} {FOX}",)), Cue(6.0, 9.0, (WOODS,)), Cue(50.0, 53.0, (HELLO,))))
    pooled = pool_continuity([one, two])
    assert pooled is not None
    assert (len(pooled.lost), len(pooled.repeated), len(pooled.displaced), pooled.reference_cues) == (1, 1, 0, 6)
    assert pool_continuity([]) is None


def _srt(cues: tuple[Cue, ...]) -> str:
    def stamp(t: float) -> str:
        ms = round(t * 1000)
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    return "\n".join(f"{i}\n{stamp(c.start)} --> {stamp(c.end)}\n{c.text}\n" for i, c in enumerate(cues, 1))


@pytest.fixture
def pair(tmp_path):
    ref, hyp = tmp_path / "talk.srt", tmp_path / "hyp" / "talk.en.srt"
    hyp.parent.mkdir()
    ref.write_text(_srt(REFERENCE), encoding="utf-8")
    hyp.write_text(_srt((Cue(1.0, 4.0, (f"{FOX} {FOX}",)), Cue(50.0, 53.0, (HELLO,)))), encoding="utf-8")
    return ref, hyp


def test_cli_eval_json_has_the_counts_per_file_and_in_total(pair):
    result = CliRunner().invoke(app, ["eval", str(pair[0]), str(pair[1]), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for part in (data["files"][0]["continuity"], data["total"]["continuity"]):
        assert (part["lost_utterances"], part["repeated_text"], part["displaced_words"]) == (1, 1, 0)
    assert data["files"][0]["continuity"]["lost"] == [WOODS]


def test_cli_eval_table_shows_the_counts(pair):
    result = CliRunner().invoke(app, ["eval", str(pair[0]), str(pair[1])])
    assert result.exit_code == 0, result.output
    assert "lost, repeated, displaced" in result.stdout
    table = result.stdout[result.stdout.index("lost, repeated, displaced") :]
    row = next(line for line in table.splitlines() if line.startswith("│ talk"))
    assert [cell.strip() for cell in row.strip("│ ").split("│")][-4:] == ["3", "1", "1", "0"]


def test_text_only_references_get_no_continuity(tmp_path):
    (tmp_path / "a.txt").write_text(FOX, encoding="utf-8")
    (tmp_path / "b.txt").write_text(FOX, encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["files"][0]["continuity"] is None
