"""The output formats staydown writes, and where each goes by default.

Free of Jinja2 and the plan, so that building the parser, which every run
does, and the prompt flow can name the formats without importing the renderer.
"""

from __future__ import annotations

from pathlib import Path

OUTPUT_SUFFIXES = {"script": ".sh", "dropin": ".d", "ansible": ".yml"}
OUTPUT_FORMATS = tuple(OUTPUT_SUFFIXES)


def default_output(unit: str, output_format: str) -> Path:
    """staydown-UNIT.sh (.yml, .d) in the current directory."""
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in unit)
    return Path(f"staydown-{stem}{OUTPUT_SUFFIXES[output_format]}")


def output_for_format(script_output: str, output_format: str) -> str:
    """Where the script would go, turned into where this format goes (fix.sh -> fix.yml)."""
    if output_format == "script":
        return script_output
    return script_output.removesuffix(OUTPUT_SUFFIXES["script"]) + OUTPUT_SUFFIXES[output_format]


def undo_path_for(output: Path) -> Path:
    """FILE.sh gets FILE.undo.sh beside it; FILE.yml gets FILE.undo.yml."""
    suffix = output.suffix if output.suffix in (".sh", ".yml", ".yaml") else ""
    stem = output.name[: -len(suffix)] if suffix else output.name
    return output.with_name(f"{stem}.undo{suffix or '.sh'}")
