"""Where augmentation runs out: the seminar's conclusion, measured on images and on tables."""

try:
    from pages import _i18n as i18n_ui
    from pages import _jobs as jobs
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/conclusion.py, AppTest)
    import _i18n as i18n_ui
    import _jobs as jobs
    import _ui as ui

ui.ensure_app_shell()

from typing import Any

import pandas as pd
import streamlit as st

from adlab import i18n, papers
from adlab import viz_runs_out as vr
from adlab.data import DataError
from adlab.device import pick_device
from adlab.lessons import runs_out as ro
from adlab.lessons import runs_out_text as rot

PAGE = "runsout"  # the prefix of this page's keys (settings in the link, results in the session)
URL_PATH = "conclusion"  # the page's address in app.py: its jobs belong to it (leaving it cancels them)
ui.begin(PAGE)
lang = i18n_ui.lang()


def t(key: str, /, **fields: Any) -> str:
    """The text ``key`` in this run's language (bound here, so that a widget's format_func says it in the
    same language whenever it is called)."""
    return i18n.text_or_english(key, lang, **fields)


DEFAULT_DATA = ["digits", "breast_cancer"]
NOT_RUN = "—"  # a table cell of a method that does not take the data set's kind (CSI on tables)


def reason(error: object) -> str:
    """What the sidebar kept about a file it could not read: the error itself (said in the session's
    language, :func:`adlab.i18n.message`) or its sentence."""
    return i18n.message(error, lang) if isinstance(error, BaseException) else str(error)


st.title(t("lessons.runs_out.title"))
st.markdown(t("lessons.runs_out.intro"))
st.markdown(t("lessons.runs_out.csi_wording"))
with st.expander(t("lessons.runs_out.methods_title"), expanded=False):
    st.markdown(
        t("lessons.runs_out.methods") + "\n"
        + "\n".join(f"  - {rot.paper_line(p, lang)}" for key in ("droc", "csi", "goad")
                    for p in papers.reference(key, "one-class:cifar10"))
        + "\n  - " + t("lessons.runs_out.goad_tables",
                        numbers="; ".join(rot.paper_line(p, lang) for key in ("thyroid", "arrhythmia")
                                          for p in papers.reference("goad", f"goad-tabular:{key}")))
    )

# ----------------------------------------------------------------------------- the data: built in, or your table
entry = st.session_state.get("upload")  # the sidebar's upload (pages/_upload.py)
table = None
if entry:
    if entry.get("upload") is None:
        st.error(t("lessons.runs_out.upload_unreadable", error=reason(entry.get("error"))), icon=":material/error:")
    else:
        try:
            table = ro.source_from_upload(entry["upload"], entry["key"])
        except DataError as err:
            st.error(t("lessons.runs_out.upload_unusable", error=i18n.message(err, lang)), icon=":material/error:")
options = list(ro.BUILTIN) + ([table.name] if table is not None else [])
titles = {**{name: ro.data_title(name, lang) for name in ro.BUILTIN},
          **({table.name: ro.data_title(table.name, lang, file=table.file)} if table else {})}
picked = st.session_state.get(f"{PAGE}_datasets")
if isinstance(picked, list) and any(name not in options for name in picked):  # e.g. a link made with another file
    st.session_state[f"{PAGE}_datasets"] = [name for name in picked if name in options]
if table is None:
    st.caption(t("lessons.runs_out.upload_hint"))

with ui.settings_container():
    with st.form(f"{PAGE}_form"):
        c1, c2 = st.columns([3, 2])
        chosen = c1.multiselect(t("lessons.runs_out.datasets"), options, default=DEFAULT_DATA, key=f"{PAGE}_datasets",
                                format_func=lambda name: titles.get(name, name))
        strength = float(c2.slider(t("lessons.runs_out.strength"), 0.0, 2.0, 1.0, 0.25, key=f"{PAGE}_strength",
                                   help=t("lessons.runs_out.strength_help")))
        c3, c4, c5 = st.columns(3)
        digit = c3.selectbox(t("lessons.runs_out.digit"), [str(d) for d in range(10)], index=3, key=f"{PAGE}_digit")
        seed = int(c4.number_input(t("lessons.seed"), 0, 10_000, 0, key=f"{PAGE}_seed",
                                   help=t("lessons.runs_out.seed_help")))
        normal = None
        if table is not None:
            classes = list(table.table.class_names)
            normal = c5.selectbox(t("lessons.runs_out.upload_normal"), classes, index=classes.index(table.normal[0]),
                                  key=f"{PAGE}_upload_normal")
        submitted = st.form_submit_button(t("lessons.run"), type="primary", key=f"{PAGE}_run")
ui.state.sync(PAGE)


def source(name: str) -> ro.Source:
    if name == "digits":
        return ro.Source(name, (digit,))
    if name in ro.BUILTIN:
        return ro.Source(name, ro.BUILTIN[name][2])
    return ro.source_from_upload(entry["upload"], entry["key"], normal)


specs, order = None, []
if submitted:
    st.session_state.pop(f"{PAGE}_results", None)
    try:
        if not chosen:
            raise ValueError(t("lessons.runs_out.empty"))
        cfg = ro.RunsOutConfig(seed=seed, device=pick_device(ui.device()).type)
        grid = ro.strength_grid(strength)
        sources = [source(name) for name in chosen]
        order = [s.name for s in sources]
        specs = {f"{s.name}|methods": jobs.spec("lesson", "runs_out", "run_methods", s, cfg, seed=seed,
                                                device=ui.device(), label=t("lessons.runs_out.job_methods",
                                                                            data=titles.get(s.name, s.label)))
                 for s in sources}
        specs.update({f"{s.name}|sweep": jobs.spec("lesson", "runs_out", "sweep_strength", s, cfg, grid, seed=seed,
                                                   device=ui.device(), label=t("lessons.runs_out.job_sweep",
                                                                               data=titles.get(s.name, s.label)))
                      for s in sources})
    except (ValueError, DataError) as err:
        jobs.cancel(PAGE)
        st.error(i18n.message(err, lang))
        specs = None

done = jobs.run_jobs(PAGE, specs, page=URL_PATH, keep={"strength": strength, "order": order},
                     title=t("lessons.runs_out.running"),
                     summary=lambda d: t("lessons.runs_out.done", n=len(d.results), seconds=d.seconds))
if done is not None:
    runs = {n: done.results[f"{n}|methods"] for n in done.keep["order"] if f"{n}|methods" in done.results}
    sweeps = {n: done.results[f"{n}|sweep"] for n in done.keep["order"] if f"{n}|sweep" in done.results}
    st.session_state[f"{PAGE}_results"] = {"runs": runs, "sweeps": sweeps, "strength": done.keep["strength"],
                                            "seconds": done.seconds}

stored = st.session_state.get(f"{PAGE}_results")
if not stored or not stored["runs"]:
    if jobs.pending(PAGE) is None:  # else the jobs are still running, and their status box says so
        st.info(t("lessons.runs_out.info"))
    st.stop()

# ----------------------------------------------------------------------------- results
strength = stored["strength"]
results = [(run, stored["sweeps"].get(name)) for name, run in stored["runs"].items()]
named = [(ro.title(run, lang), run, sweep) for run, sweep in results]
scores = {name: ro.aurocs(run, sweep, strength) for name, run, sweep in named}
labels = {m: ro.label(m, lang) for m in ro.methods_for("image")}
labels["simclr"] = t("lessons.runs_out.simclr_at", label=ro.label("simclr", lang), strength=strength)

st.subheader(t("lessons.runs_out.bars_header"))
ui.chart(vr.auroc_bars_figure(scores, labels, lang=lang), f"{PAGE}_bars")
st.dataframe(pd.DataFrame(rot.table(results, strength, lang)).style.format(precision=3, na_rep=NOT_RUN),
             hide_index=True, key=f"{PAGE}_table")
compute = sum(sum(run.seconds.values()) + (sum(sweep.seconds) if sweep else 0.0) for run, sweep in results)
st.caption("; ".join(t("lessons.runs_out.protocol_line", title=name, protocol=ro.protocol(run, lang))
                     for name, run, _ in named)
           + t("lessons.runs_out.compute", seconds=compute))

st.subheader(t("lessons.runs_out.verdict_header"))
st.markdown("\n".join(f"- {line}" for line in rot.verdict(results, strength, lang)))
st.caption(t("lessons.runs_out.verdict_caption", tie=ro.TIE))

sweeps = {name: (sweep.strengths, sweep.auroc) for name, _, sweep in named if sweep is not None}
if sweeps:
    st.subheader(t("lessons.runs_out.sweep_header"))
    ui.chart(vr.strength_sweep_figure(sweeps, {name: run.auroc["knn"] for name, run, _ in named}, chosen=strength,
                                      untrained={name: sweep.untrained for name, _, sweep in named if sweep},
                                      lang=lang),
             f"{PAGE}_sweep")
    st.caption(t("lessons.runs_out.sweep_caption",
                 changes="; ".join(t("lessons.runs_out.change", title=name, change=sweep.change_at(strength))
                                   for name, _, sweep in named if sweep)))
