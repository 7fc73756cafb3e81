"""Where augmentation runs out: the seminar's conclusion, measured on images and on tables."""

try:
    from pages import _jobs as jobs
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/conclusion.py, AppTest)
    import _jobs as jobs
    import _ui as ui

ui.ensure_app_shell()

import streamlit as st

from adlab import papers
from adlab import viz_runs_out as vr
from adlab.data import DataError
from adlab.device import pick_device
from adlab.lessons import runs_out as ro

PAGE = "runsout"  # the prefix of this page's keys (settings in the link, results in the session)
URL_PATH = "conclusion"  # the page's address in app.py: its jobs belong to it (leaving it cancels them)
ui.begin(PAGE)
DEFAULT_DATA = ["digits", "breast_cancer"]

st.title("Where augmentation runs out")
st.markdown(
    "The seminar's conclusion: contrastive learning works for anomaly detection when positives and negatives "
    "are defined well. **Hard augmentations** (a rotation that changes what a digit is) make **negatives**; "
    "**soft augmentations** (a small crop, a little jitter) and the other **normal samples** make **positives**. "
    "So the methods lean on augmentations, and **data that is hard to augment is hard for them**. An image "
    "stays the same digit when cropped or blurred; what noise or masking keeps a row of a table the same "
    "patient? Below, the contrastive methods and GOAD race three shallow baselines on the raw input, on "
    "images and on tables, and SimCLR's augmentation strength is swept from 0 (the two views are the input "
    "itself) to 2."
)
with st.expander("Methods, protocols, and the papers' numbers", expanded=False):
    st.markdown(
        "- **Contrastive:** *SimCLR + kNN* (NT-Xent, τ = 0.5, on normal data; score = mean cosine distance to "
        "the 5 nearest training features of the encoder); its views come from the strength slider: images get "
        "crop, flip, colour jitter, blur and noise, rows get Gaussian noise (0.1 s) and masking (0.2 s). "
        "*DROC* (Sohn et al., ICLR 2021; rotations as extra negatives on images) and *CSI* (Tack et al., "
        "NeurIPS 2020; images only) keep their own augmentations.\n"
        "- **Transformations:** *GOAD* (Bergman & Hoshen, ICLR 2020) learns to tell transformations apart: "
        "the four rotations on images, 32 random linear maps on rows. It needs no view that keeps a sample's "
        "meaning.\n"
        "- **Raw-input baselines:** kNN (mean Euclidean distance to the 5 nearest training rows), Isolation "
        "Forest, OC-SVM.\n"
        "- **Images:** scikit-learn's 8×8 digits, one-class halves: the chosen digit is normal, the other nine "
        "are anomalies, the whole test half is scored. **Tables** (bundled with scikit-learn, nothing is "
        "downloaded): breast cancer (569 rows × 30; benign normal, malignant anomalous) and wine (178 × 13; "
        "cultivar class_0 normal), and your own table, with **GOAD's tabular protocol**: a seeded half of the "
        "normal rows trains, the test set is the other half plus every anomaly; rows are z-scored with the "
        "training rows' statistics.\n"
        "- **Small epochs**, so that a default run takes seconds on a 2-core CPU: SimCLR 10, DROC 5, CSI 10, "
        "GOAD 5 on images and 1 on rows (as its official tabular runs). Every number in the bars and the table "
        "is measured here, on this run; none is a paper number.\n"
        "- **For scale, the papers** (CIFAR-10, 32×32 natural images, ResNets trained for hundreds of epochs; "
        "not comparable with the runs here):\n"
        + "\n".join(f"  - {p.describe()}" for key in ("droc", "csi", "goad")
                    for p in papers.reference(key, "one-class:cifar10"))
        + "\n  - GOAD on tables: " + "; ".join(p.describe() for key in ("thyroid", "arrhythmia")
                                                for p in papers.reference("goad", f"goad-tabular:{key}"))
    )

# ----------------------------------------------------------------------------- the data: built in, or your table
entry = st.session_state.get("upload")  # the sidebar's upload (pages/_upload.py)
table = None
if entry:
    if entry.get("upload") is None:
        st.error(f"Your file cannot be read, so it is not offered here: {entry.get('error')}",
                 icon=":material/error:")
    else:
        try:
            table = ro.source_from_upload(entry["upload"], entry["key"])
        except DataError as err:
            st.error(f"Your file is not offered here: {err}", icon=":material/error:")
options = list(ro.BUILTIN) + ([table.name] if table is not None else [])
titles = {**{name: ro.BUILTIN[name][0] for name in ro.BUILTIN}, **({table.name: table.label} if table else {})}
picked = st.session_state.get(f"{PAGE}_datasets")
if isinstance(picked, list) and any(name not in options for name in picked):  # e.g. a link made with another file
    st.session_state[f"{PAGE}_datasets"] = [name for name in picked if name in options]
if table is None:
    st.caption("Your own table: upload a CSV with a label column under **Your data** in the sidebar; it is then "
               "offered in the Data sets box.")

with ui.settings_container():
    with st.form(f"{PAGE}_form"):
        c1, c2 = st.columns([3, 2])
        chosen = c1.multiselect("Data sets", options, default=DEFAULT_DATA, key=f"{PAGE}_datasets",
                                format_func=lambda name: titles.get(name, name))
        strength = float(c2.slider(
            "Augmentation strength (SimCLR's views)", 0.0, 2.0, 1.0, 0.25, key=f"{PAGE}_strength",
            help="Scales every augmentation magnitude of SimCLR's two views: 0 = no augmentation (the views are the "
                 "input), 1 = the default, 2 = twice as strong. The sweep below always runs 0, 0.5, 1, 1.5 and 2 too."))
        c3, c4, c5 = st.columns(3)
        digit = c3.selectbox("Normal digit (images)", [str(d) for d in range(10)], index=3, key=f"{PAGE}_digit")
        seed = int(c4.number_input("Seed", 0, 10_000, 0, key=f"{PAGE}_seed",
                                   help="Seeds the split, the initial weights and the batch order."))
        normal = None
        if table is not None:
            classes = list(table.table.class_names)
            normal = c5.selectbox("Normal class of your table", classes, index=classes.index(table.normal[0]),
                                  key=f"{PAGE}_upload_normal")
        submitted = st.form_submit_button("Run", type="primary", key=f"{PAGE}_run")
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
            raise ValueError("Data sets is empty: pick at least one")
        cfg = ro.RunsOutConfig(seed=seed, device=pick_device(ui.device()).type)
        grid = ro.strength_grid(strength)
        sources = [source(name) for name in chosen]
        order = [s.name for s in sources]
        specs = {f"{s.name}|methods": jobs.spec("lesson", "runs_out", "run_methods", s, cfg, seed=seed,
                                                device=ui.device(), label=f"every method on {s.label}")
                 for s in sources}
        specs.update({f"{s.name}|sweep": jobs.spec("lesson", "runs_out", "sweep_strength", s, cfg, grid, seed=seed,
                                                   device=ui.device(), label=f"SimCLR strength sweep on {s.label}")
                      for s in sources})
    except (ValueError, DataError) as err:
        jobs.cancel(PAGE)
        st.error(str(err))
        specs = None

done = jobs.run_jobs(PAGE, specs, page=URL_PATH, keep={"strength": strength, "order": order},
                     title="Running every method on every data set…",
                     summary=lambda d: f"{len(d.results)} runs done in {d.seconds:.1f} s")
if done is not None:
    runs = {n: done.results[f"{n}|methods"] for n in done.keep["order"] if f"{n}|methods" in done.results}
    sweeps = {n: done.results[f"{n}|sweep"] for n in done.keep["order"] if f"{n}|sweep" in done.results}
    st.session_state[f"{PAGE}_results"] = {"runs": runs, "sweeps": sweeps, "strength": done.keep["strength"],
                                            "seconds": done.seconds}

stored = st.session_state.get(f"{PAGE}_results")
if not stored or not stored["runs"]:
    if jobs.pending(PAGE) is None:  # else the jobs are still running, and their status box says so
        st.info("Press **Run** to train every method on the chosen data sets (a few seconds at the defaults).")
    st.stop()

# ----------------------------------------------------------------------------- results
strength = stored["strength"]
results = [(run, stored["sweeps"].get(name)) for name, run in stored["runs"].items()]
scores = {run.title: ro.aurocs(run, sweep, strength) for run, sweep in results}
labels = {m: ro.label(m) for m in ro.methods_for("image")}
labels["simclr"] = f"{ro.SIMCLR_LABEL} (strength {strength:g})"

st.subheader("AUROC per method and data set")
ui.chart(vr.auroc_bars_figure(scores, labels), f"{PAGE}_bars")
st.dataframe(ro.table(results, strength), hide_index=True, key=f"{PAGE}_table")
compute = sum(sum(run.seconds.values()) + (sum(sweep.seconds) if sweep else 0.0) for run, sweep in results)
st.caption("; ".join(f"**{run.title}**: {run.protocol}" for run, _ in results)
           + f". Training and scoring took {compute:.1f} s of computing in all. A blank cell: the method does not "
             "take this kind of data (CSI needs images).")

st.subheader("What the numbers say")
st.markdown("\n".join(f"- {line}" for line in ro.verdict(results, strength)))
st.caption("Written from this run's numbers; with another seed or digit they, and these sentences, change. "
           f"Differences below {ro.TIE} count as ties.")

sweeps = {run.title: (sweep.strengths, sweep.auroc) for run, sweep in results if sweep is not None}
if sweeps:
    st.subheader("How AUROC moves with the augmentation strength")
    ui.chart(vr.strength_sweep_figure(sweeps, {run.title: run.auroc["knn"] for run, _ in results}, chosen=strength,
                                      untrained={run.title: sweep.untrained for run, sweep in results if sweep}),
             f"{PAGE}_sweep")
    st.caption("SimCLR + kNN trained at each strength (same seed, same split); dotted: raw kNN on the same data; "
               "dash-dot: the same encoder before training. How far a view moves from its input at the chosen "
               "strength (mean ‖t(x) − x‖ / ‖x‖): "
               + "; ".join(f"{run.title} {sweep.change_at(strength):.0%}" for run, sweep in results if sweep) + ".")
