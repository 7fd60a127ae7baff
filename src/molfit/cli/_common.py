"""Pieces several verbs share: parameter parsing, runtime settings, the metrics table."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from molfit.errors import InputError


def parse_params(items: list[str] | None) -> dict[str, Any]:
    """``--param KEY=VALUE`` items as a dict; values are JSON where they parse, else text."""
    params: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise InputError(f"--param expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[key.strip()] = value
    return params


def devices_value(value: str | None) -> int | str | list[int] | None:
    """Lightning's ``devices``: a count (``2``), ``auto`` or a list such as ``0,1``."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    if "," in value:
        try:
            return [int(v) for v in value.split(",") if v.strip()]
        except ValueError:
            raise InputError(f"--devices {value!r}: a count, 'auto' or indices like 0,1") from None
    return value


def cpu_has_bf16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU computes bfloat16 matrix products natively (AVX512-BF16 or AMX-BF16:
    Intel Cooper Lake, Sapphire Rapids and later; AMD Zen 4 and later)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[-1].split())
    return bool({"avx512_bf16", "amx_bf16"} & flags)


def bf16_warning(precision: str | None, accelerator: str | None) -> str | None:
    """A warning when bf16 is asked for on a CPU that emulates it (slower than 32-bit)."""
    if not precision or "bf16" not in precision:
        return None
    if accelerator not in (None, "cpu"):
        return None
    if cpu_has_bf16():
        return None
    return (
        f"warning: --precision {precision} on a CPU without bfloat16 instructions "
        "(no avx512_bf16/amx_bf16 in /proc/cpuinfo) is emulated and runs slower than 32; "
        "it pays off on Intel Cooper Lake / Sapphire Rapids or newer, AMD Zen 4 or newer, "
        "and on GPUs (Ampere or newer)"
    )


def warn(message: str) -> None:
    """One line on stderr."""
    print(message, file=sys.stderr)


def print_metrics(metrics: dict[str, dict[str, float]], task: str) -> None:
    """A short metrics table, one line per target (stdout)."""
    keys = (
        ["roc_auc", "pr_auc", "accuracy", "mcc", "brier", "ece", "set_coverage"]
        if task == "classification"
        else ["mae", "rmse", "r2", "spearman", "coverage", "mean_width", "miscalibration_area"]
    )
    keys = [k for k in keys if any(k in m for m in metrics.values())]
    width = {k: max(len(k), 7) + 2 for k in ["n", *keys]}
    name_width = max(8, *(len(t) for t in metrics)) + 2
    typer.echo(f"{'target':<{name_width}}" + "".join(f"{k:>{width[k]}}" for k in ["n", *keys]))
    for target, m in metrics.items():
        cells = "".join(
            f"{m.get(k, float('nan')):>{width[k]}.3f}"
            if k != "n"
            else f"{int(m.get('n', 0)):>{width[k]}d}"
            for k in ["n", *keys]
        )
        typer.echo(f"{target:<{name_width}}{cells}")
    for target, m in metrics.items():
        if "forces_mae_meV_per_A" in m:
            per = ", ".join(
                f"{k.rsplit('_', 1)[1]} {v:.1f}"
                for k, v in m.items()
                if k.startswith("forces_mae_meV_per_A_")
            )
            typer.echo(
                f"forces: MAE {m['forces_mae_meV_per_A']:.1f} meV/Å, RMSE "
                f"{m['forces_rmse_meV_per_A']:.1f} meV/Å over {int(m['forces_n_atoms'])} atoms"
                + (f" (MAE per element: {per})" if per else "")
            )
        if "mae_meV" in m:
            typer.echo(f"{target}: MAE {m['mae_meV']:.1f} meV, RMSE {m['rmse_meV']:.1f} meV")
        if "mae_per_atom" in m:
            line = f"{target} per atom: MAE {m['mae_per_atom']:.4g}, RMSE {m['rmse_per_atom']:.4g}"
            if "r2_minus_references" in m:
                line += f"; R² after subtracting element references {m['r2_minus_references']:.3f}"
            typer.echo(line)


#: the ``RUN`` argument of every verb that reads a run directory (resolved by :func:`run_path`)
RunDirArg = Annotated[
    Path,
    typer.Argument(
        help="Run directory written by `molfit train`, or a shipped pretrained model by name "
        "(`molfit models list`).",
        show_default=False,
    ),
]


def run_path(value: str | Path) -> Path:
    """The run directory a ``RUN`` argument names: an existing path as it is, else a shipped
    pretrained model by name (``qm9-u0``; :func:`molfit.zoo.pretrained`, files checked).

    Every verb taking a run directory resolves its argument here, so a shipped name works
    wherever a run directory does and an existing directory always wins over a name.

    Raises:
        InputError: neither an existing path nor a shipped name (the message lists the names),
            or a shipped model whose files fail their check.
    """
    path = Path(value)
    if path.exists():
        return path
    from molfit.zoo import model_names, pretrained

    names = model_names()
    if str(value).strip().lower() in names:
        return pretrained(str(value))
    shipped = ", ".join(names) if names else "none"
    raise InputError(
        f"{value}: no such run directory, nor a shipped pretrained model (shipped: {shipped}; "
        "see `molfit models list`)"
    )
