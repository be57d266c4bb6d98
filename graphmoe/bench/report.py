"""Benchmark reports: the tidy CSV and a Markdown summary a person reads.

The Markdown holds, per mode, a dataset × method table of one metric (ARI by
default) with each method's mean over the datasets, a time table, and the runs
that failed or were skipped with their reason.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["markdown_table", "pivot_scores", "method_summary", "write_report"]


def _cell(value, floatfmt):
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else format(value, floatfmt)
    return str(value)


def markdown_table(df, floatfmt=".3f", index=True):
    """A DataFrame as a GitHub-flavoured Markdown table (no extra dependency)."""
    frame = df.reset_index() if index else df
    header = [str(c) for c in frame.columns]
    # numbers right-aligned, text (and score cells that may read "fail") left-aligned
    align = ["---:" if pd.api.types.is_numeric_dtype(frame[c]) else "---" for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    for values in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v, floatfmt) for v in values) + " |")
    return "\n".join(lines)


def pivot_scores(table, metric="ari", mode="true-k"):
    """Dataset × method table of ``metric`` in ``mode``, with a final ``mean`` row.

    Cells of failed runs hold ``"fail"``, of skipped runs ``"-"``; the mean is over
    the datasets where the method ran (its count in ``ran``).
    """
    sub = table[table["mode"] == mode]
    if sub.empty:
        return pd.DataFrame()
    datasets = list(dict.fromkeys(sub["dataset"]))
    methods = list(dict.fromkeys(sub["method"]))
    out = pd.DataFrame(index=datasets + ["mean", "ran"], columns=methods, dtype=object)
    for method in methods:
        m = sub[sub["method"] == method].set_index("dataset")
        for ds in datasets:
            status, value = m.at[ds, "status"], m.at[ds, metric]
            out.at[ds, method] = (f"{value:.3f}" if status == "ok"
                                  else "fail" if status == "failed" else "-")
        ok = m[m["status"] == "ok"]
        out.at["mean", method] = f"{ok[metric].mean():.3f}" if len(ok) else "-"
        out.at["ran", method] = f"{len(ok)}/{len(datasets)}"
    out.index.name = "dataset"
    return out


def method_summary(table):
    """Per (mode, method): mean ARI/AMI/NMI/acc, total time (s), max peak memory, runs ok."""
    ok = table[table["status"] == "ok"]
    grouped = ok.groupby(["mode", "method"], sort=False)
    summary = grouped.agg(ari=("ari", "mean"), ami=("ami", "mean"), nmi=("nmi", "mean"),
                          acc=("acc", "mean"), total_time_s=("time_s", "sum"),
                          peak_mem_mb=("peak_mem_mb", "max"), runs_ok=("status", "size"))
    return summary.sort_values(["mode", "ari"], ascending=[True, False])


def _problems(table):
    bad = table[table["status"] != "ok"]
    if bad.empty:
        return "None: every run succeeded."
    cols = ["dataset", "method", "mode", "status", "error"]
    return markdown_table(bad[cols].reset_index(drop=True), index=False)


def write_report(table, out_dir, title="graphmoe clustering benchmark", metric="ari"):
    """Write ``results.csv`` and ``results.md`` into ``out_dir``; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out / "results.csv", out / "results.md"
    table.to_csv(csv_path, index=False)
    parts = [f"# {title}", ""]
    info = table.drop_duplicates("dataset")[["dataset", "n_samples", "n_features", "true_k",
                                             "note"]]
    parts += ["## Datasets", "", markdown_table(info, index=False), ""]
    for mode in dict.fromkeys(table["mode"]):
        parts += [f"## {metric.upper()}, {mode}", "", markdown_table(pivot_scores(table, metric,
                                                                                  mode)), ""]
    parts += ["## Mean scores, time and memory per method", "",
              markdown_table(method_summary(table)), "",
              "## Failed and skipped runs", "", _problems(table), ""]
    md_path.write_text("\n".join(parts))
    return csv_path, md_path
