"""The web app (`coloredit app`): recolor in the browser, for people who will not write a prompt or paint a
mask in a shell.

Upload an image, paint the object (or name it, or click it with a SAM model), pick one color or several
(a colorways gallery) or give a reference image; see before and after; download the PNG. Results are served
as PNG only (WebP or JPEG would shift the colors the app promises). `/recolor` is the same edit for scripts:
(image file, mask file, color, reference file or None, prompt) -> PNG file path.
"""

import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from .colors import name_color
from .colorways import file_name, split_colors
from .config import INVERSIONS, PRESETS, preset
from .errors import ColorEditError
from .exact import base_color
from .images import load_mask, save_atomic
from .validate import check_colors, check_reference

TITLE = "coloredit: this object, in exactly that color"


def editor_mask(value: dict | None) -> np.ndarray | None:
    """The painted pixels of a `gr.ImageEditor` value: any opaque pixel of any layer."""
    if not value or not value.get("layers"):
        return None
    painted = np.zeros(np.asarray(value["background"]).shape[:2], dtype=bool)
    for layer in value["layers"]:
        layer = np.asarray(layer)
        if layer.ndim == 3 and layer.shape[-1] == 4 and layer.shape[:2] == painted.shape:
            painted |= layer[..., 3] > 0
    return painted if painted.any() else None


def derived_prompt(image: np.ndarray, mask: np.ndarray, phrase: str = "") -> str:
    """'a {the object's color} {phrase or object}': what the edit's prompt needs when the user gives none."""
    return f"a {name_color(base_color(image, mask))} {phrase.strip() or 'object'}"


class App:
    """The edit behind the app, holding one pipeline; each call gets its own output folder."""

    def __init__(self, pipe, sam_model: str | None = None, out: Path | None = None):
        self.pipe, self.sam_model = pipe, sam_model
        self.out = Path(out or tempfile.mkdtemp(prefix="coloredit-app-"))

    def recolor(
        self,
        image: np.ndarray,
        mask: np.ndarray,
        colors: list[str],
        reference: np.ndarray | None,
        prompt: str,
        preset_name: str = "coloredit",
        steps: int = 50,
        seed: int = 0,
        inversion: str = "direct",
    ) -> tuple[list[tuple[str, Path]], dict]:
        """[(label, PNG path)] for the reference and each color, and the cost of the last pipeline call."""
        if image is None:
            raise ColorEditError("upload an image first")
        if mask is None or not mask.any():
            raise ColorEditError("mark the object: paint it, name it, or click it")
        if reference is None and not colors:
            raise ColorEditError("pick a color, type one, or give a reference image")
        load_mask(mask, (np.asarray(image).shape[1], np.asarray(image).shape[0]))  # it fits the image
        check_colors(colors)
        if reference is not None:
            check_reference(reference)
        config = preset(preset_name).replace(num_inference_steps=int(steps), inversion=inversion)
        prompt = prompt.strip() or derived_prompt(image, mask)
        folder = Path(tempfile.mkdtemp(dir=self.out))
        call = dict(image=image, seed=int(seed), config=config)
        labelled: list[tuple[str, Image.Image]] = []
        if reference is not None:
            out = self.pipe(prompt, mask, reference=reference, **call)
            labelled.append(("reference", out.image))
        if colors:  # colorways: one inversion, the colors denoised together
            out = self.pipe(prompt, mask, color=colors, **call)
            labelled += zip(colors, out.images, strict=True)
        results = [
            (label, save_atomic(edited, folder / file_name(index, label), force=True))
            for index, (label, edited) in enumerate(labelled)
        ]
        return results, {"unet": out.unet, "seconds": out.seconds}


def build(app: App):
    """The Gradio Blocks of the app."""
    import gradio as gr

    def fail(error: Exception):
        return gr.Error(str(error).splitlines()[0])

    def find(value, phrase):
        image = None if not value else np.asarray(value["background"])[..., :3]
        if image is None:
            raise gr.Error("upload an image first")
        if not phrase.strip():
            raise gr.Error("type what the object is, e.g. 'ball'")
        from .masks import attention_mask

        try:
            mask = attention_mask(app.pipe, image, phrase)
        except ColorEditError as error:
            raise fail(error) from None
        return mask, overlay(image, mask)

    def click(value, event: gr.SelectData):
        if app.sam_model is None:
            raise gr.Error("clicking needs a SAM model: start the app with --sam-model")
        from .masks import sam_mask

        image = np.asarray(value["background"])[..., :3]
        try:
            mask = sam_mask(image, [tuple(event.index)], model=app.sam_model)
        except ColorEditError as error:
            raise fail(error) from None
        return mask, overlay(image, mask)

    def run(
        value,
        found,
        picked,
        typed,
        reference,
        prompt,
        preset_name,
        steps,
        seed,
        inversion,
        progress=gr.Progress(track_tqdm=True),  # noqa: B008 (gradio reads the default)
    ):
        image = None if not value else np.asarray(value["background"])[..., :3]
        mask = editor_mask(value) if value else None
        mask = mask if mask is not None else found
        colors = split_colors(typed) or ([picked] if picked and reference is None else [])
        try:
            results, cost = app.recolor(image, mask, colors, reference, prompt, preset_name, steps, seed, inversion)
        except ColorEditError as error:
            raise fail(error) from None
        edited = np.asarray(Image.open(results[0][1]))
        info = (
            f"{len(results)} edit(s); last: {cost['unet']['calls']} U-Net calls, {cost['unet']['rows']} rows, "
            f"{sum(cost['seconds'].values()):.1f} s"
        )
        gallery = [(str(path), label) for label, path in results]
        return (image, edited[..., :3]), gallery, str(results[0][1]), info

    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f"# {TITLE}\nUpload an image, paint the object (or name it), pick a color, press **Recolor**.")
        found = gr.State(None)
        with gr.Row():
            with gr.Column():
                editor = gr.ImageEditor(
                    label="Image: paint the object",
                    type="numpy",
                    format="png",
                    brush=gr.Brush(colors=["#ff3366"], color_mode="fixed", default_size=12),
                    elem_id="editor",
                )
                with gr.Row():
                    phrase = gr.Textbox(label="...or name the object", placeholder="ball", scale=3)
                    find_button = gr.Button("Find it", scale=1)
                shown = gr.Image(label="Mask (click the object here with a SAM model)", format="png", interactive=False)
            with gr.Column():
                picked = gr.ColorPicker(label="Color", value="#1f4fff")
                typed = gr.Textbox(
                    label="...or type colors: names, #hex, r,g,b; several separated by ';' make colorways",
                    elem_id="colors",
                )
                reference = gr.Image(label="...or a reference image", type="numpy", format="png")
                prompt = gr.Textbox(label="Prompt (empty: derived from the object)", placeholder="a red car")
                with gr.Accordion("Advanced settings", open=False):
                    preset_name = gr.Dropdown(sorted(PRESETS), value="coloredit", label="Preset")
                    steps = gr.Slider(1, 100, value=50, step=1, label="Steps")
                    seed = gr.Number(value=0, precision=0, label="Seed")
                    inversion = gr.Dropdown(list(INVERSIONS), value="direct", label="Inversion")
                run_button = gr.Button("Recolor", variant="primary", elem_id="recolor")
        with gr.Row():
            before_after = gr.ImageSlider(label="Before / after", format="png", type="numpy")
            gallery = gr.Gallery(label="Colorways", format="png", columns=4)
        download = gr.File(label="Download PNG", elem_id="download")
        info = gr.Markdown(elem_id="info")

        find_button.click(find, [editor, phrase], [found, shown], api_name=False)
        shown.select(click, [editor], [found, shown], api_name=False)
        run_button.click(
            run,
            [editor, found, picked, typed, reference, prompt, preset_name, steps, seed, inversion],
            [before_after, gallery, download, info],
            api_name=False,
        )

        def api(image_file, mask_file, color, reference_file, prompt_text):
            from .images import load_mask
            from .photos import open_photo

            try:
                image = np.asarray(open_photo(image_file)[0])
                mask = load_mask(mask_file, (image.shape[1], image.shape[0]))
                ref = None if not reference_file else np.asarray(open_photo(reference_file, "reference image")[0])
                results, _ = app.recolor(image, mask, split_colors(color or ""), ref, prompt_text or "")
            except ColorEditError as error:
                raise fail(error) from None
            return str(results[0][1])

        with gr.Row(visible=False):
            api_inputs = [
                gr.Image(type="filepath", format="png"),
                gr.Image(type="filepath", format="png"),
                gr.Textbox(),
                gr.Image(type="filepath", format="png"),
                gr.Textbox(),
            ]
            api_output = gr.File()
            api_button = gr.Button()
        api_button.click(api, api_inputs, api_output, api_name="recolor")
    demo.queue(default_concurrency_limit=1)  # one edit at a time on one model; the others wait in line
    return demo


def overlay(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The mask shown on the image: the object tinted, the rest dimmed."""
    shown = image.astype(np.float64) * 0.45
    shown[mask] = image[mask] * 0.5 + np.array([255, 51, 102]) * 0.5
    return shown.round().astype(np.uint8)


def serve(model: str, host: str, port: int, share: bool, sam_model: str | None, block: bool = True):
    """Load the model and start the app; returns the running Blocks (for tests, `block=False`)."""
    from .pipeline import load_pipeline

    pipe = load_pipeline(model, None, "auto")
    pipe.set_progress_bar_config(disable=False)
    demo = build(App(pipe, sam_model))
    demo.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=not block, show_error=True)
    return demo
