"""Per-recording report for clinicians: a PNG figure and a single-file HTML page.

Figure: lumbar flexion and lateral bending over time with holds (shaded, red when over the limit)
and repetitions (numbered peaks) marked; EMG envelopes (each normalised to its maximum) with
activation onsets and the movement onsets; the HTML page embeds the figure and tables of the
measures, the holds, the repetitions and the onset latencies. Needs matplotlib
(``pip install 'kinemyo[plot]'``).
"""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..batch import atomic_write_bytes, atomic_write_text
from .run import Result

__all__ = ["write_report"]



def _plain(text: object) -> str:
    """``text`` drawn as it is: matplotlib reads ``$...$`` as maths (a file named ``run_$x_{1$.edf``
    raised ValueError and failed the file in a batch; review), so dollar signs are escaped."""
    return str(text).replace("$", r"\$")


def _figure_png(result: Result, title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    sig = result.signals
    panels = int("angles" in sig) + int("envelope" in sig)
    if panels == 0:
        panels = 1
    fig, axes = plt.subplots(panels, 1, figsize=(13, 3.6 * panels), sharex=True, squeeze=False)
    ax_i = 0
    if "angles" in sig:
        ax = axes[ax_i, 0]
        ax_i += 1
        t = sig["angles_t"]
        a = sig["angles"]
        ax.plot(t, a[:, 0], color="#1f4e9c", lw=1.4, label="flexion (+) / extension (−)")
        ax.plot(t, a[:, 1], color="#e08a00", lw=1.0, label="lateral bending (+ right)")
        if np.isfinite(a[:, 2]).any():
            ax.plot(t, a[:, 2], color="#3b9c3b", lw=1.0, label="axial rotation (+ left)")
        for h in result.events.get("holds", []):
            ax.axvspan(h["start_s"], h["end_s"], color="#d62728" if h["over_limit"] else "#2ca02c", alpha=0.15)
            ax.text((h["start_s"] + h["end_s"]) / 2, h["mean_deg"] + 3,
                    f"hold {h['duration_s']:.1f} s" + (" (over limit)" if h["over_limit"] else ""),
                    ha="center", va="bottom", fontsize=9, color="#8b0000" if h["over_limit"] else "#1b5e20")
        for i, r in enumerate(result.events.get("repetitions", []), start=1):
            ax.plot(r["peak_s"], r["peak_deg"], "v", color="#1f4e9c", ms=6)
            ax.text(r["peak_s"], r["peak_deg"] + 2, str(i), ha="center", fontsize=8, color="#1f4e9c")
        ax.axhline(0, color="0.6", lw=0.6)
        ax.set_ylabel("lumbar angle (°)")
        ax.legend(loc="upper right", fontsize=9, ncol=3, frameon=False)
        ax.grid(alpha=0.25)
    if "envelope" in sig:
        ax = axes[ax_i, 0]
        t = sig["envelope_t"]
        env = sig["envelope"]
        chans = sig["emg_channels"]
        colors = ["#6a3d9a", "#b15928", "#1f78b4", "#33a02c", "#e31a1c", "#ff7f00", "#cab2d6", "#a6cee3"]
        for i, ch in enumerate(chans):
            e = env[:, i]
            peak = np.nanmax(e) if np.isfinite(e).any() and np.nanmax(e) > 0 else 1.0
            off = len(chans) - 1 - i
            ax.plot(t, e / peak + off, color=colors[i % len(colors)], lw=0.9)
            ax.text(t[0], off + 0.55, _plain(ch), fontsize=9, color=colors[i % len(colors)], va="bottom")
            for ev in result.events.get("emg_onsets", []):
                if ev["channel"] == ch:
                    ax.plot([ev["onset_s"]] * 2, [off, off + 0.9], color=colors[i % len(colors)], lw=1.2)
        for m in result.events.get("movement_onsets", []):
            ax.axvline(m["onset_s"], color="0.3", ls="--", lw=0.7)
        ax.set_ylabel("EMG envelope\n(normalised; | = onset)")
        ax.set_yticks([])
        ax.grid(alpha=0.25)
    axes[-1, 0].set_xlabel("time (s)   — dashed lines: movement onsets")
    fig.suptitle(_plain(title), fontsize=12)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def _table(rows: list[dict[str, Any]], cols: list[tuple[str, str, str]]) -> str:
    if not rows:
        return "<p><em>none</em></p>"
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label, _ in cols)
    body = []
    for r in rows:
        cells = []
        for key, _, fmt in cols:
            v = r.get(key, "")
            if isinstance(v, float):
                cells.append("<td>–</td>" if not np.isfinite(v) else f"<td>{format(v, fmt)}</td>")
            else:
                cells.append(f"<td>{html.escape(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


_LABELS = {
    "peak_flexion_deg": ("Peak flexion", "°"), "flexion_rom_deg": ("Flexion–extension range of motion", "°"),
    "flexion_min_deg": ("Maximum extension", "°"), "lateral_rom_deg": ("Lateral bending range", "°"),
    "axial_rom_deg": ("Axial rotation range", "°"), "peak_flexion_velocity_deg_s": ("Peak flexion velocity", "°/s"),
    "n_repetitions": ("Repetitions (flexion–extension cycles)", ""),
    "mean_repetition_amplitude_deg": ("Mean repetition amplitude", "°"),
    "mean_repetition_duration_s": ("Mean repetition duration", "s"), "n_holds": ("Static holds", ""),
    "longest_hold_s": ("Longest hold", "s"), "holds_over_limit": ("Holds over the limit", ""),
    "n_movements": ("Movement onsets", ""), "median_emg_latency_ms": ("Median EMG onset latency", "ms"),
    "feedforward_fraction": ("Feed-forward activations (onset before movement)", "fraction"),
}


def write_report(result: Result, out_dir: str | os.PathLike[str], title: str | None = None) -> tuple[str, str]:
    """Write ``report.png`` and ``report.html`` (figure embedded) into ``out_dir``, atomically.
    Returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = title or (Path(result.source).name if result.source else "recording")
    png = _figure_png(result, f"kinemyo — {name}")
    atomic_write_bytes(out / "report.png", png)
    rows = []
    for key, (label, unit) in _LABELS.items():
        if key in result.metrics:
            v = result.metrics[key]
            txt = f"{v:.1f}" if isinstance(v, float) else str(v)
            if key == "feedforward_fraction":
                txt = f"{100 * v:.0f} %"
                unit = ""
            rows.append(f"<tr><td>{html.escape(label)}</td><td class='num'>{txt} {html.escape(unit)}</td></tr>")
    warn = "".join(f"<li>{html.escape(w)}</li>" for w in result.warnings)
    holds_html = _table(result.events.get("holds", []), [
        ("start_s", "start (s)", ".1f"), ("end_s", "end (s)", ".1f"), ("duration_s", "duration (s)", ".1f"),
        ("mean_deg", "mean flexion (°)", ".1f"), ("over_limit", "over limit", ""),
        ("over_limit_s", "time over limit (s)", ".1f")])
    reps_html = _table(result.events.get("repetitions", []), [
        ("start_s", "start (s)", ".1f"), ("peak_s", "peak (s)", ".1f"), ("end_s", "end (s)", ".1f"),
        ("peak_deg", "peak (°)", ".1f"), ("amplitude_deg", "amplitude (°)", ".1f"),
        ("duration_s", "duration (s)", ".1f")])
    lat_rows = [r for r in result.events.get("latencies", []) if np.isfinite(r["latency_ms"])]
    lat_html = _table(lat_rows, [
        ("movement", "movement", ""), ("movement_onset_s", "movement onset (s)", ".2f"), ("channel", "muscle", ""),
        ("emg_onset_s", "EMG onset (s)", ".3f"), ("latency_ms", "latency (ms)", ".0f")])
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>kinemyo report — {html.escape(name)}</title>
<style>
body {{ font-family: system-ui, -apple-system, Segoe UI, sans-serif; margin: 2em auto; max-width: 1200px;
        color: #222; }}
h1 {{ font-size: 1.5em; }} h2 {{ font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }}
table {{ border-collapse: collapse; margin: 0.5em 0; font-size: 0.92em; }}
td, th {{ border: 1px solid #ccc; padding: 3px 9px; }} th {{ background: #f2f4f8; text-align: left; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
img {{ max-width: 100%; border: 1px solid #eee; }} .warn {{ color: #8b4500; }}
</style></head><body>
<h1>kinemyo report — {html.escape(name)}</h1>
<p>Lumbar angles from two trunk IMUs (flexion positive forward; ISB / Grood–Suntay convention) and
trunk EMG activations. Processing time {result.seconds:.2f} s.</p>
{f'<ul class="warn">{warn}</ul>' if warn else ''}
<img alt="lumbar angles and EMG envelopes" src="data:image/png;base64,{base64.b64encode(png).decode()}">
<h2>Measures</h2><table><tbody>{''.join(rows)}</tbody></table>
<h2>Holds</h2>{holds_html}
<h2>Repetitions</h2>{reps_html}
<h2>EMG onset latency relative to movement onset</h2>
<p>Negative = the muscle switched on before the movement (feed-forward).</p>
{lat_html}
</body></html>
"""
    atomic_write_text(out / "report.html", page)
    return str(out / "report.png"), str(out / "report.html")
