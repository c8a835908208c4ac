"""The web app (`coloredit app`): recolor in the browser, for people who will not write a prompt or paint a
mask in a shell.

Upload an image, paint the object (or name it, or click it with a SAM model), pick one color or several
(a colorways gallery) or give a reference image; see before and after, and the mask the edit used; download
the PNGs (all colorways in one zip). Results are served as PNG only (WebP or JPEG would shift the colors the
app promises). `/recolor` is the same edit for scripts: (image file, mask file, color, reference file or None,
prompt) -> PNG file path. Bad input gets the CLI's one-line messages; on the page an error leaves the last
result in place. Only the last `KEEP` edits' files are kept on disk, and the app's folder goes when it stops.
"""

import shutil
import tempfile
import threading
import weakref
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .colorways import derived_prompt, file_name, split_colors
from .config import INVERSIONS, PRESETS, preset
from .errors import ColorEditError
from .images import load_mask, save_atomic
from .validate import check_colors, check_reference

TITLE = "coloredit: this object, in exactly that color"
CONCURRENT = 4  # edits in flight at once (each holds its images; the U-Net runs them one after another)
KEEP = 4  # edits whose files stay on disk (the page shows the last; a browser may still be fetching the one before)
COLOR_RULE = (
    "Typed colors win over the picker (picking a color clears them); with a reference image the picker is unused."
)


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


def chosen_colors(picked: str | None, typed: str, reference) -> list[str]:
    """The colors an edit uses (`COLOR_RULE`): the typed ones, else the picker's unless a reference is given."""
    return split_colors(typed or "") or ([picked] if picked and reference is None else [])


@dataclass
class Recolored:
    """One press of Recolor: the PNGs by label, all of them in one zip, the mask the edit used, its cost."""

    files: list[tuple[str, Path]]
    archive: Path
    mask: np.ndarray
    cost: dict


class App:
    """The edit behind the app, holding one pipeline; each call gets its own output folder, the last `KEEP`
    kept. A folder the app made itself is removed with the app (or at exit)."""

    def __init__(self, pipe, sam_model: str | None = None, out: Path | None = None):
        self.pipe, self.sam_model = pipe, sam_model
        self.out = Path(out) if out else Path(tempfile.mkdtemp(prefix="coloredit-app-"))
        self.out.mkdir(parents=True, exist_ok=True)
        self._folders: list[Path] = []
        self._folders_lock = threading.Lock()  # edits of several users finish in any order
        if out is None:
            weakref.finalize(self, shutil.rmtree, self.out, True)

    def _new_folder(self) -> Path:
        folder = Path(tempfile.mkdtemp(dir=self.out))
        with self._folders_lock:
            self._folders.append(folder)
            old = self._folders[:-KEEP]
            del self._folders[:-KEEP]
        for gone in old:
            shutil.rmtree(gone, ignore_errors=True)
        return folder

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
    ) -> Recolored:
        """The PNGs for the reference and each color, their zip, the edit's mask and the last call's cost."""
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
        call = dict(image=image, seed=int(seed), config=config)
        labelled: list[tuple[str, Image.Image]] = []
        if reference is not None:
            out = self.pipe(prompt, mask, reference=reference, **call)
            labelled.append(("reference", out.image))
        if colors:  # colorways: one inversion, the colors denoised together
            out = self.pipe(prompt, mask, color=colors, **call)
            labelled += zip(colors, out.images, strict=True)
        folder = self._new_folder()
        files = [
            (label, save_atomic(edited, folder / file_name(index, label), force=True))
            for index, (label, edited) in enumerate(labelled)
        ]
        archive = folder / "coloredit.zip"
        with zipfile.ZipFile(archive, "w") as bundle:  # PNGs are compressed already
            for _, path in files:
                bundle.write(path, path.name)
        used = out.mask if out.mask is not None else np.asarray(mask, dtype=bool)
        cost = {"unet": out.unet, "seconds": out.seconds, "engine": out.engine}
        return Recolored(files, archive, used, cost)


def build(app: App):
    """The Gradio Blocks of the app."""
    import gradio as gr

    find, click, painted = mask_handlers(app, gr)
    run = edit_handler(app, gr)
    with gr.Blocks(title=TITLE, delete_cache=(900, 3600)) as demo:  # Gradio's copies of results: gone in an hour
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
                shown = gr.Image(
                    label="Mask: painted, found, or the one the edit used (click the object here with a SAM model)",
                    format="png",
                    interactive=False,
                    elem_id="mask",
                )
            with gr.Column():
                picked = gr.ColorPicker(label="Color", value="#1f4fff")
                typed = gr.Textbox(
                    label="...or type colors: names, #hex, r,g,b; several separated by ';' make colorways",
                    elem_id="colors",
                )
                gr.Markdown(COLOR_RULE)
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
        download = gr.File(
            label="Download: the PNGs, and all of them in one zip", file_count="multiple", elem_id="download"
        )
        info = gr.Markdown(elem_id="info")

        find_button.click(find, [editor, phrase], [found, shown, info], api_name=False)
        shown.select(click, [editor], [found, shown, info], api_name=False)
        editor.change(painted, [editor], [shown], api_name=False, show_progress="hidden", trigger_mode="always_last")
        picked.input(lambda: "", None, typed, api_name=False)  # the picker, touched, wins: see COLOR_RULE
        run_button.click(
            run,
            [editor, found, picked, typed, reference, prompt, preset_name, steps, seed, inversion],
            [before_after, gallery, download, shown, info],
            api_name=False,
        )

        api_endpoint(app, gr)
    # Users' edits run in parallel threads; the pipeline lets one at a time use the U-Net (its lock is the only
    # serialization: `attention.install`), so a small queue limit keeps memory bounded, not correctness.
    demo.queue(default_concurrency_limit=CONCURRENT)
    return demo


def mask_handlers(app: App, gr) -> tuple:
    """The mask view's handlers: an object found from its name, clicked (with a SAM model), or painted."""

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
            raise fail(gr, error) from None
        return mask, overlay(image, mask), found_note(image, mask, f"'{phrase.strip()}'")

    def click(value, event: gr.SelectData):
        if app.sam_model is None:
            raise gr.Error("clicking needs a SAM model: start the app with --sam-model")
        from .masks import sam_mask

        image = np.asarray(value["background"])[..., :3]
        try:
            mask = sam_mask(image, [tuple(event.index)], model=app.sam_model)
        except ColorEditError as error:
            raise fail(gr, error) from None
        return mask, overlay(image, mask), found_note(image, mask, "the clicked object")

    def painted(value):
        mask = editor_mask(value)
        return None if mask is None else overlay(np.asarray(value["background"])[..., :3], mask)

    return find, click, painted


def fail(gr, error: Exception):
    """Gradio's error for one of ours: its first line."""
    return gr.Error(str(error).splitlines()[0])


def edit_handler(app: App, gr):
    """The Recolor button: the edit, or a toast and a line that leave the last result on the page."""

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
        colors = chosen_colors(picked, typed, reference)
        try:
            done = app.recolor(image, mask, colors, reference, prompt, preset_name, steps, seed, inversion)
        except ColorEditError as error:  # a toast and a line; the last result stays on the page
            message = str(error).splitlines()[0]
            gr.Warning(message)
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), f"**Not run:** {message}"
        edited = np.asarray(Image.open(done.files[0][1]))
        cost = done.cost
        info = (
            f"{', '.join(label for label, _ in done.files)}: {len(done.files)} edit(s); last: "
            f"{cost['unet']['calls']} U-Net calls, {cost['unet']['rows']} rows, {sum(cost['seconds'].values()):.1f} s "
            f"({'the exact-color engine alone' if cost['engine'] == 'exact' else 'the diffusion model'})"
        )
        gallery = [(str(path), label) for label, path in done.files]
        downloads = [str(path) for _, path in done.files] + ([str(done.archive)] if len(done.files) > 1 else [])
        return (image, edited[..., :3]), gallery, downloads, overlay(image, done.mask), info

    return run


def api_endpoint(app: App, gr) -> None:
    """`/recolor` for scripts: files in (our checks read them, so a bad one gets our message), the PNG out."""

    def api(image_file, mask_file, color, reference_file, prompt_text):
        from .images import load_mask
        from .photos import open_photo

        try:
            if not image_file:
                raise ColorEditError("upload an image first")
            if not mask_file:
                raise ColorEditError("mark the object: give a mask file (white = object)")
            image = np.asarray(open_photo(image_file)[0])
            mask = load_mask(mask_file, (image.shape[1], image.shape[0]))
            ref = None if not reference_file else np.asarray(open_photo(reference_file, "reference image")[0])
            done = app.recolor(image, mask, split_colors(color or ""), ref, prompt_text or "")
        except ColorEditError as error:
            raise fail(gr, error) from None
        return str(done.files[0][1])

    with gr.Row(visible=False):  # files, not gr.Image: our checks read them, so a bad one gets our message
        api_inputs = [gr.File(type="filepath"), gr.File(type="filepath"), gr.Textbox()]
        api_inputs += [gr.File(type="filepath"), gr.Textbox()]
        api_output = gr.File()
        api_button = gr.Button()
    api_button.click(api, api_inputs, api_output, api_name="recolor")


def found_note(image: np.ndarray, mask: np.ndarray, what: str) -> str:
    """What the page says of a mask found for the user: its confidence, and a warning when it is low."""
    from .masks import CONFIDENT, mask_confidence

    confidence = mask_confidence(image, mask)
    if confidence < CONFIDENT:
        return f"**Check the mask:** {what} was found with low confidence ({confidence:.2f}); paint it if it is wrong."
    return f"Found {what} (confidence {confidence:.2f})."


def overlay(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The mask shown on the image: the object tinted, the rest dimmed."""
    shown = image.astype(np.float64) * 0.45
    shown[mask] = image[mask] * 0.5 + np.array([255, 51, 102]) * 0.5
    return shown.round().astype(np.uint8)


def serve(model: str, host: str, port: int, share: bool, sam_model: str | None, block: bool = True):
    """Load the model and start the app; returns the running Blocks (for tests, `block=False`)."""
    from .devices import load_pipeline

    pipe = load_pipeline(model, None, "auto")
    pipe.set_progress_bar_config(disable=False)
    demo = build(App(pipe, sam_model))
    demo.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=not block, show_error=True)
    return demo
