"""The web app, driven as people and scripts drive it: `gradio_client` calls `/recolor`, and a real headless
Chromium (Playwright) uploads an image, paints the object, picks a color, runs and reads the result."""

import gc
import os
import shutil
import socket
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from coloredit.app import KEEP, App, build, chosen_colors
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
    """The source's bytes outside the feathered mask the edit used (the given one moved to the object's edge,
    `edges.refine_mask`), which stays within 3 px of the given mask."""
    from scipy import ndimage

    from coloredit.edges import refine_mask

    used = refine_mask(scene.image, scene.mask)
    outside = feather_weights(used, feather_radius(0.02, used.shape)) == 0
    near_given = ndimage.binary_dilation(scene.mask, iterations=3)
    return np.array_equal(edited[outside], scene.image[outside]) and not (used & ~near_given).any()


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


def test_three_concurrent_requests_each_get_their_own_color(server, scene, tmp_path):
    from gradio_client import Client, handle_file

    from coloredit.colors import parse_color

    Image.fromarray(scene.image).save(tmp_path / "image.png")
    Image.fromarray(scene.mask.astype(np.uint8) * 255).save(tmp_path / "mask.png")
    client = Client(server, verbose=False)
    colors = ["#2040e0", "#20c040", "#e0c020"]
    jobs = [
        client.submit(
            handle_file(tmp_path / "image.png"), handle_file(tmp_path / "mask.png"), c, None, "", api_name="/recolor"
        )
        for c in colors
    ]
    objects = [np.asarray(Image.open(job.result(timeout=300)).convert("RGB"))[scene.mask].mean(axis=0) for job in jobs]
    for obj, color in zip(objects, colors, strict=True):  # each nearest its own color of the three
        distances = [np.abs(obj - parse_color(c)).sum() for c in colors]
        assert colors[int(np.argmin(distances))] == color


def test_the_api_answers_files_that_are_no_image_with_our_own_line(server, scene, tmp_path):
    """Gradio's own decoding said "Could not preprocess input component"; our checks read the files instead."""
    from gradio_client import Client, handle_file

    Image.fromarray(scene.mask.astype(np.uint8) * 255).save(tmp_path / "mask.png")
    (tmp_path / "notes.png").write_text("not a picture")
    Image.new("L", (9000, 8000)).save(tmp_path / "huge.png")  # 72 MP of black: small on disk
    client = Client(server, verbose=False)
    mask = handle_file(tmp_path / "mask.png")
    for image, message in (("notes.png", "not a readable image"), ("huge.png", "over the 64 MP limit")):
        with pytest.raises(Exception, match=message):
            client.predict(handle_file(tmp_path / image), mask, "navy", None, "", api_name="/recolor")
    with pytest.raises(Exception, match="upload an image"):
        client.predict(None, mask, "navy", None, "", api_name="/recolor")
    with pytest.raises(Exception, match="give a mask file"):
        client.predict(handle_file(tmp_path / "mask.png"), None, "navy", None, "", api_name="/recolor")


def test_typed_colors_win_over_the_picker_and_a_reference_leaves_it_unused():
    assert chosen_colors("#1f4fff", "navy; #ff0000", None) == ["navy", "#ff0000"]
    assert chosen_colors("#1f4fff", "", None) == ["#1f4fff"]
    assert chosen_colors("#1f4fff", "", np.zeros((4, 4, 3), np.uint8)) == []
    assert chosen_colors("#1f4fff", "teal", np.zeros((4, 4, 3), np.uint8)) == ["teal"]


class PaintPipeline:
    """Stands in for the model: paints the mask's pixels each color, and says which mask it used."""

    def __call__(self, prompt, mask, color=None, reference=None, image=None, **kwargs):
        colors = color or ["gray"]
        from coloredit.colors import parse_color

        images = []
        for name in colors:
            edited = np.array(image)
            edited[mask] = parse_color(name)
            images.append(Image.fromarray(edited))
        unet = {"calls": 0, "rows": 0}
        return SimpleNamespace(images=images, image=images[0], mask=mask, unet=unet, seconds={}, engine="exact")


def test_every_colorway_is_in_the_zip_and_only_the_last_edits_stay_on_disk(scene, tmp_path):
    app = App(PaintPipeline(), out=tmp_path)
    colors = ["navy", "#33cc99", "200,40,40"]
    for _ in range(KEEP + 3):
        done = app.recolor(scene.image, scene.mask, colors, None, "a ball")
    assert [label for label, _ in done.files] == colors
    with zipfile.ZipFile(done.archive) as bundle:
        assert [bundle.read(path.name) for _, path in done.files] == [path.read_bytes() for _, path in done.files]
    assert np.array_equal(done.mask, scene.mask)
    assert len(list(tmp_path.iterdir())) == KEEP  # older results removed, the newest kept
    assert all(path.exists() for _, path in done.files)


def test_an_app_removes_its_own_folder_when_it_goes(scene):
    app = App(PaintPipeline())
    folder = app.recolor(scene.image, scene.mask, ["navy"], None, "a ball").archive.parent.parent
    assert folder.is_dir()
    del app
    gc.collect()
    assert not folder.exists()


def test_browser_upload_paint_pick_run(server, tmp_path):
    from playwright.sync_api import sync_playwright

    from coloredit.toy.render import render

    assert CHROMIUM, "the browser test needs Debian's chromium: apt-get install chromium (see the README)"
    # 384 px, so the brush can hit the ball; rendered at that size, its edge one pixel wide as a camera's is
    # (a 64 px render blown up 6x would have edges 6 px wide, which the one-pixel outline does not unmix)
    photo = render(11, shape="ball", color="red", objects=1, pattern=None, jpeg=0, size=384)
    big, painted_ball = photo.image, photo.mask
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
        ys, xs = np.nonzero(painted_ball)
        size = painted_ball.shape[0]
        top, bottom = ys.min() / size, (ys.max() + 1) / size
        for row in np.linspace(top + 0.03, bottom - 0.03, 16):  # paint the ball in strokes, as a person would
            inside = xs[ys == int(row * size)]
            x0, x1 = (inside.min() + 9) / size, (inside.max() - 3) / size
            page.mouse.move(box["x"] + box["width"] * x0, box["y"] + box["height"] * row)
            page.mouse.down()
            page.mouse.move(box["x"] + box["width"] * x1, box["y"] + box["height"] * row, steps=10)
            page.mouse.up()
        page.locator("#mask img").first.wait_for(timeout=30_000)  # the painted mask is drawn before any edit
        page.locator("#colors textarea, #colors input").first.fill("#2040e0")
        page.locator("#recolor").click()
        link = page.locator("#download a").first
        link.wait_for(timeout=120_000)
        with page.expect_download() as download:
            link.click()
        path = tmp_path / "downloaded.png"
        download.value.save_as(path)
        # `COLOREDIT_APP_SCREENSHOT=docs/app.png` retakes the README's picture of the app from this very run
        page.screenshot(path=os.environ.get("COLOREDIT_APP_SCREENSHOT", str(tmp_path / "app.png")), full_page=True)
        page.locator("#colors textarea, #colors input").first.fill("blurple")  # bad input after a good edit
        page.locator("#recolor").click()
        page.locator("#info", has_text="unknown color").wait_for(timeout=30_000)
        assert page.locator("#download a").count() >= 1  # the last result is still there to download
        browser.close()
    edited = np.asarray(Image.open(path).convert("RGB"))
    assert edited.shape == big.shape
    changed = np.abs(edited.astype(int) - big).max(axis=-1) > 30
    assert changed[painted_ball].mean() > 0.5  # the painted ball changed color ...
    far = feather_weights(painted_ball, feather_radius(0.02, painted_ball.shape)) == 0
    assert not changed[far].any(), f"{changed[far].sum()} background pixels changed"  # ... and the background did not
