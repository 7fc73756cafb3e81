"""Compare every detector and the shallow baselines on one split of one dataset."""

try:
    from pages import _export as ex
    from pages import _i18n as i18n_ui
    from pages import _methods as m
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/compare.py, AppTest)
    import _export as ex
    import _i18n as i18n_ui
    import _methods as m
    import _ui as ui

ui.ensure_app_shell()

import streamlit as st

from adlab import viz
from adlab import viz_detectors as vd
from adlab.experiment import MethodSpec, group_identical, is_deep, label, methods, summary_rows

PAGE = "compare"
ui.begin(PAGE)
t, lang = i18n_ui.t, i18n_ui.lang()

st.title(t("detectors.compare.title"))
st.markdown(t("detectors.compare.intro"))


def knobs(kind: str) -> dict:
    options = list(methods(kind))  # the registry, asked now: a detector registered later is offered too
    chosen = st.multiselect(t("detectors.compare.methods"), options, default=options, key=f"{PAGE}_methods_{kind}",
                            format_func=m.method_labels(), help=t("detectors.compare.methods_help"))
    return dict(methods=chosen)


form = m.detector_form(PAGE, knobs, training=False, submit=t("detectors.compare.run_all"), submit_key="compare_run")

if form.submitted:
    st.session_state.pop(f"{PAGE}_results", None)


def method_specs() -> dict[str, MethodSpec]:
    chosen = list(form.params["methods"])
    if not chosen:
        raise m.PageError("detectors.compare.no_methods")
    return {method: MethodSpec.quick(method, form.kind, input_shape=form.input_shape, seed=form.seed)
            for method in chosen}


# one job per method, submitted together: they run side by side on the workers, and a run equal to one
# another session (or a method's own page, same split and settings) asked for is shared
done = m.run_detectors(PAGE, form, method_specs, max_test=m.COMPARE_MAX_TEST, title=t("detectors.compare.title_running"),
                       summary=lambda d: t("detectors.compare.summary", n=len(d.results), seconds=d.seconds))
if done is not None:
    st.session_state[f"{PAGE}_results"] = {
        "runs": {method: r.run for method, r in done.results.items()},
        "maps": {method: r.after2d for method, r in done.results.items()},
        "map_rows": next(iter(done.results.values())).map_rows,  # the same seeded rows for every method
        "errors": done.errors, "seconds": done.seconds, **done.keep}

stored = st.session_state.get(f"{PAGE}_results")
if not stored:
    st.info(t("detectors.compare.hint"))
    st.stop()

runs, split = stored["runs"], stored["split"]
first = next(iter(runs.values()))
st.subheader(t("detectors.compare.heading"))
st.caption(t("detectors.compare.caption", dataset=ui.dataset_label(stored["dataset"]), n_train=len(split.X_train),
             composition=m.composition(split, stored), max_test=m.COMPARE_MAX_TEST, seconds=stored["seconds"]))
columns = {"method": t("detectors.compare.method"), "fit (s)": t("detectors.compare.fit_seconds"),
           "score (s)": t("detectors.compare.score_seconds")}  # the others (AUROC, AUPRC, F1) read the same
rows = summary_rows(runs)
for row, name in zip(rows, runs, strict=True):
    row["method"] = m.method_label(name)
st.dataframe(
    {columns.get(key, key): [round(r[key], 3) if isinstance(r[key], float) else r[key] for r in rows] for key in rows[0]},
    hide_index=True, key=f"{PAGE}_table",
)
ui.chart(viz.roc_figure({m.method_label(name): (run.is_anomaly, run.scores) for name, run in runs.items()}, lang=lang),
         f"{PAGE}_roc")

st.subheader(t("detectors.compare.maps_heading"))
shown = stored["map_rows"]  # the test rows each job drew on its map (a seeded sample of at most ui.MAX_TEST)
groups = group_identical({name: run.test_after[shown] for name, run in runs.items()})


def panel(names: tuple[str, ...]) -> str:
    """One panel's title: the methods that share it, "(raw input)" said once when none of them is deep."""
    joined = " = ".join(m.method_label(n) if is_deep(n) else label(n).replace(" (raw input)", "") for n in names)
    return joined if any(is_deep(n) for n in names) else t("detectors.compare.raw_panel", names=joined)


maps = {panel(names): stored["maps"][names[0]] for names in groups}
ui.chart(vd.umap_grid_figure(maps, first.is_anomaly[shown], cols=3,
                             hover=m.hover_labels(stored, first.y_test[shown]), lang=lang), f"{PAGE}_umaps")
st.caption(t("detectors.compare.maps_caption",
             maps=t("detectors.compare.maps_all") if len(shown) == len(first.scores)
             else t("detectors.compare.maps_sample", shown=len(shown), total=len(first.scores))))
ex.section(PAGE, lambda: ex.compare_files(stored), stem=ui.file_stem(PAGE, {**stored, "run": None}))
