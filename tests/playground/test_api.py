"""The app through its HTTP API (gradio_client): bad inputs get clear messages and the app stays up; ten
sessions at once each get their own scene; an episode runs to a verdict; Stop stops it."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client, handle_file

pytestmark = pytest.mark.slow
SIM = "PyBullet sim"
# outputs of new_scene / run / act, in order
VIEW, BOARD, SCENE, VERDICT, CHAT, EDIT, ACTION_PLOT, ROUTING_PLOT, STATS = range(9)


def new_scene(client, mode="Whiteboard", photo=None, equation="", expected="", instruction="", seed=0):
    return client.predict(mode, photo, equation, expected, instruction, seed, SIM, api_name="/new_scene")


def text_of(message: dict) -> str:
    """A chat message's text (Gradio sends content as a list of typed parts)."""
    content = message["content"]
    return content if isinstance(content, str) else "".join(p.get("text", "") for p in content)


def error_of(fn) -> str:
    with pytest.raises(Exception) as info:
        fn()
    return str(info.value)


def still_up(client):
    assert "**Ground truth:** equation: 3 + 4 = ?" in new_scene(client, equation="3 + 4")[SCENE]


@pytest.mark.parametrize(
    "name, words",
    [
        ("not_image", "not an image"),
        ("huge", "40 megapixels"),
        ("corrupt", "damaged"),
        ("truncated", "damaged"),
    ],
)
def test_bad_uploads_get_a_clear_message(client, bad_files, name, words):
    assert words in error_of(lambda: new_scene(client, photo=handle_file(str(bad_files[name]))))
    still_up(client)


@pytest.mark.parametrize(
    "instruction, words",
    [
        ("", "instruction is empty"),
        ("x" * 5000, "5000 characters"),
        ("Put the giraffe to the left of the bowl", "no toy called"),
        ("Make me a sandwich", "cannot read"),
    ],
)
def test_bad_instructions_get_a_clear_message(client, instruction, words):
    def run():
        return client.predict("Spatial instruction", None, "", "", instruction, 0, SIM, "nano", "none", api_name="/run")

    assert words in error_of(run)
    still_up(client)


@pytest.mark.parametrize(
    "model_id, words",
    [
        ("nobody-here/no-such-model", "HF_HUB_OFFLINE"),
        ("/no/such/folder", "no folder"),
    ],
)
def test_bad_model_ids_get_a_clear_message(client, model_id, words, tmp_path):
    start = time.perf_counter()
    assert words in error_of(lambda: client.predict(model_id, "none", api_name="/load_model"))
    assert time.perf_counter() - start < 15, "a missing model must fail fast"
    assert "nano" in client.predict("nano", "none", api_name="/load_model")
    still_up(client)


def test_a_folder_without_safetensors_gets_a_clear_message(client, tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "chatvla2"}')
    assert "safetensors" in error_of(lambda: client.predict(str(tmp_path), "none", api_name="/load_model"))


def test_ten_sessions_at_once_each_get_their_own_scene(app_url):
    equations = [(f"{k} + 0 = ?", k) if k % 2 else (f"9 - {9 - k} = ?", k) for k in range(10)]
    barrier = threading.Barrier(10)

    def visitor(item):
        equation, answer = item
        client = Client(app_url, verbose=False, download_files=False)
        barrier.wait()  # all ten ask at the same moment
        built = new_scene(client, equation=equation, seed=answer)
        job = client.submit("Whiteboard", None, equation, "", "", answer, SIM, "nano", "none", api_name="/run")
        ran = job.result(timeout=120)
        return built, ran, answer, equation

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(visitor, equations))
    boards = set()
    for built, ran, answer, equation in results:
        for out in (built, ran):
            assert f"equation: {equation}, answer: {answer}," in out[SCENE], (equation, out[SCENE])
        assert "typed equation" in ran[SCENE]
        assert ran[VERDICT].startswith("### ") and "chunk" in ran[VERDICT]
        boards.add(built[BOARD]["value"]["path"])  # an update: the board panel is shown with its picture
    assert len(boards) == 10, "each session drew its own board"


def test_an_episode_streams_reasoning_and_frames_then_a_verdict(client):
    new_scene(client, mode="Spatial instruction", instruction="Put the duck to the left of the bowl", seed=1)
    job = client.submit(
        "Spatial instruction",
        None,
        "",
        "",
        "Put the duck to the left of the bowl",
        1,
        SIM,
        "nano",
        "none",
        api_name="/run",
    )
    updates = list(job)
    outputs = job.outputs()
    assert any(o[VERDICT].startswith("_reasoning") for o in outputs)
    frames = {o[VIEW]["path"] for o in outputs if o[VERDICT].startswith("_acting")}
    assert len(frames) >= 10, "frames stream while acting"
    final = outputs[-1]
    assert final[VERDICT].startswith("### Not solved") and "2 chunks" in final[VERDICT]
    assert final[CHAT][-1]["role"] == "assistant" and text_of(final[CHAT][-1]).strip()
    assert "first reasoning token" in final[STATS] and updates
    edited = client.predict("Move the duck to the left of the bowl.", 1, "nano", "none", api_name="/act")
    assert "one chunk on your reasoning" in edited[VERDICT]
    assert text_of(edited[CHAT][-1]) == "(edited reasoning) Move the duck to the left of the bowl."


def test_stop_ends_a_running_episode(client):
    job = client.submit("Whiteboard", None, "2 + 2", "", "", 0, SIM, "nano", "none", api_name="/run")
    while not any(o[VERDICT].startswith("_acting") for o in job.outputs()):
        time.sleep(0.05)
        assert not job.done(), "the episode ended before it could be stopped"
    client.predict(api_name="/stop")
    final = job.result(timeout=60)
    assert "stopped by you" in final[VERDICT]


def test_probe_suite_scores_come_back_as_a_chart_and_a_table(client):
    chart, table, summary = client.predict("nano", "none", 1, api_name="/probe")
    assert "ocr: " in summary and "math: " in summary and "spatial: " in summary
    assert len(table["data"]) == 3 and {row[0] for row in table["data"]} == {"ocr", "math", "spatial"}
    assert chart is not None
