"""Compare every detector and the shallow baselines on one split of one dataset."""

try:
    from pages import _export as ex
    from pages import _methods as m
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/compare.py, AppTest)
    import _export as ex
    import _methods as m
    import _ui as ui

ui.ensure_app_shell()

import streamlit as st

from adlab import viz
from adlab import viz_detectors as vd
from adlab.experiment import MethodSpec, group_identical, is_deep, label, methods, summary_rows

PAGE = "compare"
ui.begin(PAGE)

st.title("Compare the detectors")
st.markdown(
    "Every method of the previous pages, and three shallow baselines on the raw input, trained on the "
    "**same normal training set** and scored on the **same test set**. Each deep method runs with its quick "
    "settings (a few seconds each on a laptop CPU), so this is a fair race between small models, not a "
    "replay of the papers' numbers. On the 8×8 digits the raw pixels are already a good feature space: the "
    "baselines are hard to beat there. That is a lesson too: contrastive features pay off on data where "
    "raw distances mean little (natural images), and the tricks (rotations as negatives) need data that "
    "can be rotated."
)


def knobs(kind: str) -> dict:
    options = list(methods(kind))  # the registry, asked now: a detector registered later is offered too
    chosen = st.multiselect("Methods", options, default=options, key=f"{PAGE}_methods_{kind}",
                            format_func=label,
                            help="Only the methods that take this kind of data (CSI needs images, so it is "
                                 "not offered on the toy sets).")
    return dict(methods=chosen)


form = m.detector_form(PAGE, knobs, training=False, submit="Run all", submit_key="compare_run")

if form.submitted:
    st.session_state.pop(f"{PAGE}_results", None)


def method_specs() -> dict[str, MethodSpec]:
    chosen = list(form.params["methods"])
    if not chosen:
        raise ValueError("methods is empty: pick at least one method")
    return {method: MethodSpec.quick(method, form.kind, input_shape=form.input_shape, seed=form.seed)
            for method in chosen}


# one job per method, submitted together: they run side by side on the workers, and a run equal to one
# another session (or a method's own page, same split and settings) asked for is shared
done = m.run_detectors(PAGE, form, method_specs, max_test=m.COMPARE_MAX_TEST, title="Training every method…",
                       summary=lambda d: f"{len(d.results)} methods trained and scored in {d.seconds:.1f} s")
if done is not None:
    st.session_state[f"{PAGE}_results"] = {
        "runs": {method: r.run for method, r in done.results.items()},
        "maps": {method: r.after2d for method, r in done.results.items()},
        "map_rows": next(iter(done.results.values())).map_rows,  # the same seeded rows for every method
        "errors": done.errors, "seconds": done.seconds, **done.keep}

stored = st.session_state.get(f"{PAGE}_results")
if not stored:
    st.info("Press **Run all** to train every selected method on the same split.")
    st.stop()

runs, split = stored["runs"], stored["split"]
first = next(iter(runs.values()))
st.subheader("Scores on the test split")
st.caption(f"{ui.dataset_label(stored['dataset'])}: {len(split.X_train)} normal training points; "
           f"{m.composition(split, stored)}: the whole test half (Compare scores up to {m.COMPARE_MAX_TEST:,} test "
           f"rows). Total time {stored['seconds']:.1f} s (training, scoring, feature extraction). F1 flags the "
           "top-scored fraction equal to the share of anomalies.")
rows = summary_rows(runs)
st.dataframe(
    {key: [round(r[key], 3) if isinstance(r[key], float) else r[key] for r in rows] for key in rows[0]},
    hide_index=True, key=f"{PAGE}_table",
)
ui.chart(viz.roc_figure({label(name): (run.is_anomaly, run.scores) for name, run in runs.items()}), f"{PAGE}_roc")

st.subheader("Feature spaces after training")
shown = stored["map_rows"]  # the test rows each job drew on its map (a seeded sample of at most ui.MAX_TEST)
groups = group_identical({name: run.test_after[shown] for name, run in runs.items()})
maps = {" = ".join(label(n).replace(" (raw input)", "") for n in names)
        + (" (raw input)" if not any(is_deep(n) for n in names) else ""):
        stored["maps"][names[0]] for names in groups}
ui.chart(vd.umap_grid_figure(maps, first.is_anomaly[shown], cols=3,
                             hover=m.hover_labels(stored, first.y_test[shown])), f"{PAGE}_umaps")
st.caption(("UMAP of the test points" if len(shown) == len(first.scores) else
            f"UMAP of {len(shown)} of the {len(first.scores)} test points (a seeded sample; the table and the ROC "
            "use them all)")
           + " in each method's feature space (what `embed` returns: φ(x) for Deep SVDD, "
           "the untransformed copy's features for GOAD, normalised encoder features for DROC, encoder features "
           "for CSI; the baselines share one panel, since they all see the input itself).")
ex.section(PAGE, lambda: ex.compare_files(stored), stem=ui.file_stem(PAGE, {**stored, "run": None}))
