"""`coloredit app`: start the web app."""

from __future__ import annotations

import argparse

from ..errors import ColorEditError
from ..models import default_model, locate


def run_app(args: argparse.Namespace) -> int:
    try:
        from ..app import serve
    except ImportError:
        raise ColorEditError("the app needs gradio: pip install 'coloredit[app]'") from None
    serve(locate(args.model or default_model()), args.host, args.port, args.share, args.sam_model)
    return 0
