"""The web app, driven as people and scripts drive it: `gradio_client` calls `/recolor`, and a real headless
Chromium (Playwright) uploads an image, paints the object, picks a color, runs and reads the result."""

import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from coloredit.app import App, build
from coloredit.images import feather_radius, feather_weights

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scene():
    from coloredit.toy.render import render

    return render(11, shape="ball", color="red", objects=1, pattern=None, jpeg=0)


@pytest.fixture(scope="module")
def server(pipe, tmp_path_factory):
    pipe.set_progress_bar_config(disable=False)
    demo = build(App(pipe, out=tmp_path_factory.mktemp("app")))
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()
    pipe.set_progress_bar_config(disable=True)


def unchanged_outside(edited: np.ndarray, scene) -> bool:
    outside = feather_weights(scene.mask, feather_radius(0.02, scene.mask.shape)) == 0
    return np.array_equal(edited[outside], scene.image[outside])


def test_recolor_api_with_gradio_client(server, scene, tmp_path):
    from gradio_client import Client, handle_file

    Image.fromarray(scene.image).save(tmp_path / "image.png")
    Image.fromarray(scene.mask.astype(np.uint8) * 255).save(tmp_path / "mask.png")
    client = Client(server, verbose=False)
    result = client.predict(
        handle_file(tmp_path / "image.png"),
        handle_file(tmp_path / "mask.png"),
        "#2040e0",
        None,
        "",
        api_name="/recolor",
    )
    assert Path(result).suffix == ".png"
    edited = np.asarray(Image.open(result).convert("RGB"))
    assert edited.shape == scene.image.shape and unchanged_outside(edited, scene)
    lab_blue = np.abs(edited[scene.mask].mean(axis=0) - scene.image[scene.mask].mean(axis=0)).max()
    assert lab_blue > 40  # the red ball is no longer red
    with pytest.raises(Exception, match="pick a color"):  # bad input: a readable message, not a traceback
        client.predict(
            handle_file(tmp_path / "image.png"), handle_file(tmp_path / "mask.png"), "", None, "", api_name="/recolor"
        )


def test_browser_upload_paint_pick_run(server, scene, tmp_path):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "the browser test needs Debian's chromium: apt-get install chromium (see the README)"
    big = np.kron(scene.image, np.ones((6, 6, 1), np.uint8))  # 384 px, so the brush can hit the ball
    Image.fromarray(big).save(tmp_path / "ball.png")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.goto(server)
        page.locator("#editor button[aria-label='Image']").click()
        with page.expect_file_chooser() as chooser:
            page.locator("#editor button[aria-label='Upload']").click()
        chooser.value.set_files(str(tmp_path / "ball.png"))
        canvas = page.locator("#editor canvas").first
        canvas.wait_for()
        page.wait_for_timeout(1500)
        page.locator("#editor button[aria-label='Brush']").click()
        area = canvas.bounding_box()  # the image is drawn as the largest centered square that fits
        side = min(area["width"], area["height"])
        box = {"x": area["x"] + (area["width"] - side) / 2, "y": area["y"] + (area["height"] - side) / 2}
        box["width"] = box["height"] = side
        ys, xs = np.nonzero(scene.mask)
        top, bottom = ys.min() / 64, (ys.max() + 1) / 64
        for row in np.linspace(top + 0.03, bottom - 0.03, 16):  # paint the ball in strokes, as a person would
            inside = xs[ys == int(row * 64)]
            x0, x1 = (inside.min() + 1.5) / 64, (inside.max() - 0.5) / 64
            page.mouse.move(box["x"] + box["width"] * x0, box["y"] + box["height"] * row)
            page.mouse.down()
            page.mouse.move(box["x"] + box["width"] * x1, box["y"] + box["height"] * row, steps=10)
            page.mouse.up()
        page.locator("#colors textarea, #colors input").first.fill("#2040e0")
        page.locator("#recolor").click()
        link = page.locator("#download a").first
        link.wait_for(timeout=120_000)
        with page.expect_download() as download:
            link.click()
        path = tmp_path / "downloaded.png"
        download.value.save_as(path)
        page.screenshot(path=str(tmp_path / "app.png"), full_page=True)
        browser.close()
    edited = np.asarray(Image.open(path).convert("RGB"))
    assert edited.shape == big.shape
    painted_ball = np.kron(scene.mask, np.ones((6, 6), bool))
    changed = np.abs(edited.astype(int) - big).max(axis=-1) > 30
    assert changed[painted_ball].mean() > 0.5  # the painted ball changed color ...
    far = feather_weights(painted_ball, feather_radius(0.02, painted_ball.shape)) == 0
    # ... and the background did not, but for less than one source pixel (6x6 here): where the brush spilled
    # onto the dark floor under the ball, a pixel may read as the ball's shade. Loosened from "no pixel" when
    # exact color's same-hue rule came in (4 of 384x384 changed since, 0 before).
    assert changed[far].sum() < 36
