"""Distance axioms: the four metric axioms, hand-placed counterexamples, and a learned distance."""

from __future__ import annotations

try:
    from pages import _export as ex
    from pages import _jobs as jobs
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/distances.py, AppTest)
    import _export as ex
    import _jobs as jobs
    import _ui as ui

ui.ensure_app_shell()


import numpy as np
import pandas as pd
import streamlit as st

from adlab import distances as dist
from adlab import viz_distances as vd
from adlab.data import make_toy
from adlab.distance_demo import (
    DistanceDemoConfig,
    LearnedDistanceRun,
    build_demo_encoder,
    closest_distinct_pair,
    distance_field,
    plane_grid,
)

PAGE = "distances"
ui.begin(PAGE)
COLUMNS = ("coordinate 1", "coordinate 2")
MIN_POINTS, MAX_POINTS = 3, 8
LEARNED_DEMO = "learned_demo"  # the demo encoder f(x) = x_1 from adlab.distances.DEMOS
# preset button -> (label, demo key); loading a preset also selects the distance it breaks
PRESETS = {
    "squared_euclidean": "0, 1, 2 on a line",
    "cosine": "angles 0°, 45°, 90°",
    "cosine_identity": "x and 2x",
    "learned": "twins for f(x) = x₁",
    "kl_divergence": "probability vectors",
}
LABELS = {
    "euclidean": "Euclidean",
    "squared_euclidean": "squared Euclidean",
    "cosine": "cosine distance 1 − cos",
    "angular": "angular distance arccos(cos)/π",
    "manhattan": "Manhattan (L1)",
    "chebyshev": "Chebyshev (L∞)",
    "kl_divergence": "KL divergence",
    LEARNED_DEMO: "learned: ‖f(x) − f(y)‖ with f(x) = x₁",
}
LOSS_LABELS = {"triplet": "triplet (batch-hard)", "supcon": "SupCon"}
ENCODER_LABELS = {"mlp": "MLP on (x₁, x₂)", "collapsed": "collapsed: MLP on x₁ only"}
SHORT = {
    dist.NON_NEGATIVITY: "non-negativity",
    dist.IDENTITY: "identity",
    dist.SYMMETRY: "symmetry",
    dist.TRIANGLE: "triangle",
}
AXIOM_LATEX = {
    dist.NON_NEGATIVITY: (r"d(x, y) \ge 0", "A distance is never negative."),
    dist.IDENTITY: (
        r"d(x, y) = 0 \iff x = y",
        "Distance zero means the very same point, and only the same point.",
    ),
    dist.SYMMETRY: (r"d(x, y) = d(y, x)", "Going from x to y is as far as coming back."),
    dist.TRIANGLE: (
        r"d(x, z) \le d(x, y) + d(y, z)",
        "A detour through a third point is never shorter than the direct way.",
    ),
}


def distance_by_key(key: str) -> dist.Distance:
    return dist.demo_points("learned").distance if key == LEARNED_DEMO else dist.get_distance(key)


def frame(points: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(np.asarray(points, dtype=np.float64).reshape(-1, 2), columns=list(COLUMNS))


# ----------------------------------------------------------------------------- session state
# The points are a setting: ``distances_points`` (a list of [x, y]) goes into the link, so a link
# reopens the table the lecturer built. The editable table and its bookkeeping are internal ("_" keys).
POINTS = f"{PAGE}_points"
TABLE, CURRENT, EDITOR_V, DRAWS = f"_{PAGE}_table", f"_{PAGE}_current", f"_{PAGE}_editor_v", f"_{PAGE}_draws"
ss = st.session_state


def linked_points(value) -> np.ndarray | None:
    """The points a link carried (``[[x, y], ...]``), or None when there are none or they are unusable."""
    try:
        points = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if points.ndim != 2 or points.shape[1] != 2 or not 1 <= len(points) <= MAX_POINTS or not np.isfinite(points).all():
        return None
    return points


if TABLE not in ss:
    from_link = linked_points(ss.get(POINTS))
    if ss.get(POINTS) and from_link is None:
        st.warning(f"The link's points ({POINTS}) are not a list of 1 to {MAX_POINTS} pairs of numbers, so the "
                   "page starts from its first example instead.")
    ss[TABLE] = frame(from_link if from_link is not None else dist.demo_points("squared_euclidean").points)
ss.setdefault(EDITOR_V, 0)
ss.setdefault(f"{PAGE}_metric", "squared_euclidean")
ss.setdefault(DRAWS, 0)


def _replace_points(df: pd.DataFrame) -> None:
    """New table contents: a fresh editor key, so the editor shows them instead of old edits."""
    ss[TABLE] = df.reset_index(drop=True)
    ss[CURRENT] = ss[TABLE]
    ss[EDITOR_V] += 1


def _load_preset(key: str) -> None:
    demo = dist.demo_points(key)
    _replace_points(frame(demo.points))
    ss[f"{PAGE}_metric"] = LEARNED_DEMO if key == "learned" else demo.distance.name


def _add_point(point: np.ndarray) -> None:
    current = ss.get(CURRENT, ss[TABLE])
    _replace_points(pd.concat([current, frame(point)], ignore_index=True))


def _add_random() -> None:
    """A random point; a probability vector when the KL divergence is selected."""
    rng = np.random.default_rng(1000 + ss[DRAWS])
    ss[DRAWS] += 1
    if ss[f"{PAGE}_metric"] == "kl_divergence":
        p = round(float(rng.uniform(0.05, 0.95)), 2)
        _add_point(np.array([p, round(1.0 - p, 2)]))
    else:
        _add_point(np.round(rng.uniform(-2.0, 2.0, size=2), 2))


def _add_twin() -> None:
    """x0 moved along coordinate 2 only: f(x) = x₁ cannot tell the two apart."""
    current = ss.get(CURRENT, ss[TABLE]).to_numpy(dtype=np.float64)
    x0 = current[0] if len(current) and np.all(np.isfinite(current[0])) else np.zeros(2)
    _add_point(np.array([x0[0], x0[1] + 1.5]))


# ----------------------------------------------------------------------------- helpers
def clean_points(df: pd.DataFrame) -> np.ndarray | None:
    """The table as an ``(n, 2)`` array, warning about every problem; None when unusable."""
    values = df.reindex(columns=list(COLUMNS)).apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    empty = np.all(np.isnan(values), axis=1)
    values = values[~empty]
    finite = np.isfinite(values)
    for r in np.flatnonzero(~finite.all(axis=1)):
        missing = [COLUMNS[c] for c in range(2) if not finite[r, c]]
        st.warning(
            f"Row {r} has no usable number in {' and '.join(repr(m) for m in missing)} (empty cell, NaN "
            "or inf): fill it in or delete the row. It is left out, so the points after it move up one label."
        )
    values = values[finite.all(axis=1)]
    if len(values) > MAX_POINTS:
        st.warning(f"{len(values)} points: this page checks at most {MAX_POINTS}; the first {MAX_POINTS} are used.")
        values = values[:MAX_POINTS]
    if len(values) < 2:
        st.warning(f"Place at least {MIN_POINTS} points (two are enough for three of the axioms): "
                   f"there {'is' if len(values) == 1 else 'are'} {len(values)} usable.")
        return None
    if len(values) < MIN_POINTS:
        st.info("With two points there is no triangle: add a third point to test the triangle inequality.")
    return values


DOMAIN_HINT = {
    "cosine": "The angle of the zero vector is undefined: move that point away from the origin.",
    "angular": "The angle of the zero vector is undefined: move that point away from the origin.",
    "kl_divergence": "Each row must be a probability vector: both coordinates ≥ 0, summing to 1 "
                     "(try the 'probability vectors' preset).",
}


def check(distance: dist.Distance, points: np.ndarray) -> tuple[dist.AxiomReport, np.ndarray] | str:
    """The axiom report and distance matrix, or the reason the distance is undefined on ``points``."""
    try:
        report = dist.check_axioms(distance, points)
        return report, distance.pairwise(points)
    except ValueError as err:
        return str(err)


HOLDS = ":green[:material/check_circle:]"  # an icon font bundled with Streamlit: renders without emoji fonts
BREAKS = ":red[:material/cancel:]"


def axiom_lines(report: dist.AxiomReport) -> None:
    for r in report.results:
        if r.holds:
            st.markdown(f"{HOLDS} **{r.name}** :green[holds] — {r.message}")
        else:
            st.markdown(f"{BREAKS} **{r.name}** :red[**breaks**]: `{r.worst.sentence}`  \n"
                        f"<small>{r.failures} of {r.checked} checked tuples violate it.</small>",
                        unsafe_allow_html=True)


def theory(distance: dist.Distance) -> str:
    can = ", ".join(SHORT[a] for a in distance.fails)
    return f"{distance.kind}" + (f": {can} can break" if can else ": all four hold")


def verdicts(distance: dist.Distance, points: np.ndarray) -> list[str]:
    try:
        report = dist.check_axioms(distance, points)
    except ValueError:
        return ["undefined"] * len(dist.AXIOMS)
    return ["holds" if report[a].holds else "BREAKS" for a in dist.AXIOMS]


# plain words and cell colours: the table must read the same without an emoji font (Debian's chromium has none)
VERDICT_STYLE = {"holds": "color: #1b7f3b", "BREAKS": "color: #c92a2a; font-weight: 700",
                 "undefined": "color: #868e96", "no points": "color: #868e96"}


def verdict_style(value: str) -> str:
    return VERDICT_STYLE.get(value, "")


@st.cache_data(show_spinner=False)
def sample_verdicts(key: str, n: int = 30, seed: int = 7) -> list[str]:
    """Verdicts on a fixed random sample: Gaussian points, or probability vectors for KL."""
    rng = np.random.default_rng(seed)
    if key == "kl_divergence":
        p = rng.uniform(0.02, 0.98, size=n)
        sample = np.stack([p, 1.0 - p], axis=1)
    else:
        sample = rng.normal(size=(n, 2))
    return verdicts(distance_by_key(key), sample)


# ============================================================================= page
st.title("Distance axioms")
st.markdown(
    "Every contrastive loss compares **distances** (or similarities) between embeddings. What can a "
    "loss, a miner or an anomaly score take for granted about them? A **metric** $d$ promises four "
    "things, for all points $x, y, z$:"
)
cols = st.columns(2)
for i, axiom in enumerate(dist.AXIOMS, start=1):
    with cols[(i - 1) % 2].container(border=True):
        st.markdown(f"**{i}. {axiom.capitalize()}**")
        st.latex(AXIOM_LATEX[axiom][0])
        st.caption(AXIOM_LATEX[axiom][1])
st.markdown(
    "**Why this matters for contrastive learning.**\n"
    "- *Margins.* The triplet loss asks $d(a, n) \\ge d(a, p) + m$. With a metric the triangle inequality "
    "turns that into a guarantee for the positive too: $d(p, n) \\ge d(a, n) - d(a, p) \\ge m$. With the "
    "squared Euclidean distance (FaceNet, GOAD, Deep SVDD) that guarantee is gone.\n"
    "- *Mining and neighbours.* Triangle-based mining and nearest-neighbour search prune candidates with "
    "the triangle inequality (if $n$ is far from $p$ and $p$ is close to $a$, then $n$ cannot be close to $a$). "
    "A kNN anomaly score inherits the same assumption.\n"
    "- *Collapse.* A learned distance $d_f(x, y) = \\lVert f(x) - f(y) \\rVert$ is only a **pseudometric**: "
    "if $f$ is not injective, different inputs sit at distance 0. Deep SVDD's hypersphere collapse exploits "
    "exactly this: an $f$ that sends every input to the centre has zero loss and detects nothing."
)

# ----------------------------------------------------------------------------- 2. place points
st.header("Place points and test a distance")
st.caption("Load a classic counterexample, edit the table (rows are the points x0, x1, …; add or delete "
           "rows with the table's own controls), and pick a distance: everything below updates at once.")
preset_cols = st.columns(3)
for i, (key, label) in enumerate(PRESETS.items()):
    preset_cols[i % 3].button(label, key=f"{PAGE}_preset_{key}", on_click=_load_preset, args=(key,),
                              width="stretch", help=dist.demo_points(key).caption)
n_rows = len(ss.get(CURRENT, ss[TABLE]))
preset_cols[2].button("add random point", key=f"{PAGE}_add", on_click=_add_random, width="stretch",
                      icon=":material/add:", disabled=n_rows >= MAX_POINTS, help=f"At most {MAX_POINTS} points.")

left, right = st.columns([2, 3])
with left:
    edited = st.data_editor(
        ss[TABLE],
        key=f"_{PAGE}_editor_{ss[EDITOR_V]}",
        num_rows="dynamic",
        hide_index=True,
        column_config={c: st.column_config.NumberColumn(c, format="%.3f") for c in COLUMNS},
        width="stretch",
    )
    ss[CURRENT] = edited
    metric_key = st.selectbox("Distance", list(LABELS), key=f"{PAGE}_metric", format_func=LABELS.get)
    distance = distance_by_key(metric_key)
    for part in distance.latex.split(r", \quad "):  # one line each: a learned distance's two parts fit the column
        st.latex(part)
    st.markdown(f"**Theory:** {distance.claim}  \n*{theory(distance)}* (claimed on: {distance.domain})")
    if getattr(distance, "embedding", None) is not None:  # the torch object behind the numbers
        st.caption(f"Computed by `EmbeddingDistance({distance.embedding.kind!r})`, the same object the losses, "
                   "the miners and the kNN score take.")

points = clean_points(edited)
if points is not None:  # the link carries the points
    ss[POINTS] = np.round(points, 6).tolist()
else:
    ss.pop(POINTS, None)
ui.state.sync(PAGE)
outcome = None
if points is not None:
    outcome = check(distance, points)
    if isinstance(outcome, str):
        st.warning(f"**{LABELS[metric_key]}** is undefined on these points: {outcome}. "
                   f"{DOMAIN_HINT.get(metric_key, '')}")

with right:
    if points is not None:
        triangle = zero_pair = None
        matrix = None
        if not isinstance(outcome, str) and outcome is not None:
            report, matrix = outcome
            if not report.triangle.holds:
                triangle = report.triangle.worst.indices
            ident = report.identity.worst
            if ident is not None and not np.array_equal(*points[list(ident.indices)]):
                zero_pair = ident.indices  # two distinct points at distance 0
        ui.chart(vd.points_figure(points, distances=matrix, triangle=triangle, zero_pair=zero_pair, height=400),
                 f"{PAGE}_scatter")

if points is not None and not isinstance(outcome, str):
    report, matrix = outcome
    c1, c2 = st.columns([3, 2])
    with c1:
        st.subheader("The four axioms on your points")
        axiom_lines(report)
        if report.all_hold:
            st.success("All four axioms hold on these points (evidence, not a proof: try more points).")
    with c2:
        st.subheader("Pairwise distances")
        labels = [f"x{i}" for i in range(len(points))]
        st.dataframe(pd.DataFrame(matrix, index=labels, columns=labels).style.format("{:.3f}"),
                     width="stretch")
        st.caption("Row x_i, column x_j holds d(x_i, x_j).")

# ----------------------------------------------------------------------------- 3. comparison
st.header("Every distance, every axiom")
rows = []
for key in LABELS:
    d = distance_by_key(key)
    yours = verdicts(d, points) if points is not None else ["no points"] * 4
    sample = sample_verdicts(key)
    row = {"distance": LABELS[key], "theory": theory(d)}
    for axiom, a, b in zip(dist.AXIOMS, yours, sample, strict=True):
        row[f"{SHORT[axiom]} · your points"] = a
        row[f"{SHORT[axiom]} · random sample"] = b
    rows.append(row)
st.dataframe(pd.DataFrame(rows).set_index("distance").style.map(verdict_style), width="stretch", key=f"{PAGE}_table")
st.caption("Random sample: 30 fixed Gaussian points in the plane (probability vectors (p, 1 − p) for KL). "
           "'undefined' means the distance cannot be computed on those points (a zero vector for cosine, "
           "rows that are not probability vectors for KL). A sample can only refute an axiom, never prove "
           "it: cosine's identity failure needs x and 2x, which a random sample does not contain, so "
           "'holds' on a sample may still be 'can break' in theory.")

# ----------------------------------------------------------------------------- 4. learned
st.header("A learned distance, before and after training")
st.markdown(
    "Now $d_f(x, y) = \\lVert f(x) - f(y) \\rVert_2$, where $f(x) = g(x) / \\lVert g(x) \\rVert$ is a small "
    "ReLU MLP $g$ followed by the L2 normalisation that contrastive losses use. Symmetry and the triangle "
    "inequality carry over from the Euclidean distance between features, but **identity of indiscernibles "
    "holds only where $f$ is injective**. Training on purpose pulls each class together, so far-apart points "
    "of one class become almost indiscernible. The **collapsed** encoder ignores coordinate 2 altogether: "
    "$(a, b)$ and $(a, b')$ are at distance exactly 0."
)
with st.form(f"{PAGE}_form"):
    c1, c2, c3, c4, c5 = st.columns(5)
    toy = c1.selectbox("Toy data", ["moons", "blobs"], key=f"{PAGE}_toy")
    loss = c2.selectbox("Loss", list(LOSS_LABELS), key=f"{PAGE}_loss", format_func=LOSS_LABELS.get)
    encoder = c3.selectbox("Encoder f", list(ENCODER_LABELS), key=f"{PAGE}_encoder",
                           format_func=ENCODER_LABELS.get)
    epochs = int(c4.number_input("Epochs", 1, 100, 20, key=f"{PAGE}_epochs"))
    seed = int(c5.number_input("Seed", 0, 10_000, 0, key=f"{PAGE}_seed"))
    submitted = st.form_submit_button("Train f", type="primary", key=f"{PAGE}_train")

job = None
if submitted:
    ss.pop(f"{PAGE}_run", None)
    try:
        cfg = DistanceDemoConfig(toy=toy, loss=loss, encoder=encoder, epochs=epochs, seed=seed, device=ui.device())
        job = jobs.spec("learned_distance", cfg, seed=seed, device=cfg.device, label=f"f on {toy}")
    except ValueError as err:
        jobs.cancel(PAGE)
        st.error(f"Training failed: {err}")
done = jobs.run_job(PAGE, job, page=PAGE, title="Training f…", summary=lambda r: f"Trained f in {r.history.seconds:.1f} s")
if done is not None:
    ss[f"{PAGE}_run"] = done.result

run: LearnedDistanceRun | None = ss.get(f"{PAGE}_run")
if run is None:
    cfg = DistanceDemoConfig(toy=toy, encoder=encoder, seed=seed)
    encoders = {"Random f (before training)": build_demo_encoder(cfg)}
    ds = make_toy(cfg.toy, n=cfg.n, seed=cfg.seed)
    toy_X, toy_normal = ds.X, ds.X[ds.y != len(ds.class_names) - 1]
    st.info("Press **Train f** to train the encoder (a second or two on a CPU) and compare before with after. "
            "Until then: the encoder at its random initialisation.")
else:
    cfg = run.config
    encoders = {"Random f (before training)": run.encoder_before, "Trained f (after training)": run.encoder_after}
    toy_X, toy_normal = run.X, run.X[run.y != len(run.class_names) - 1]
    h = run.history
    st.success(f"Trained f ({ENCODER_LABELS[cfg.encoder]}) with the {LOSS_LABELS[cfg.loss]} loss on {cfg.toy} "
               f"for {cfg.epochs} epochs in "
               f"{h.seconds:.1f} s on {h.device}: loss {h.epoch_losses[0]:.4f} → {h.epoch_losses[-1]:.4f}.")
learned = {title: dist.LearnedDistance(f) for title, f in encoders.items()}

if points is not None:
    st.subheader("The axioms for d_f on your points")
    cols = st.columns(len(learned))
    for col, (title, d) in zip(cols, learned.items(), strict=True):
        with col:
            st.markdown(f"**{title}**")
            axiom_lines(dist.check_axioms(d, points))
    st.button("add a twin of x0 (same coordinate 1, coordinate 2 + 1.5)", key=f"{PAGE}_twin", icon=":material/add:",
              on_click=_add_twin, disabled=n_rows >= MAX_POINTS,
              help="The collapsed encoder cannot tell x0 from its twin: identity of indiscernibles breaks.")

# the geometry: distance to a reference point over the whole input plane
ref_options = list(range(len(points))) if points is not None else []
if ss.get(f"{PAGE}_ref") not in ref_options:
    ss.pop(f"{PAGE}_ref", None)
if ref_options:
    ref_i = st.selectbox("Reference point for the heatmap", ref_options, key=f"{PAGE}_ref",
                         format_func=lambda i: f"x{i} = ({points[i][0]:.2f}, {points[i][1]:.2f})")
    reference = points[ref_i]
else:
    reference = np.zeros(2)
xs, ys = plane_grid(toy_X, *([points] if points is not None else []), steps=60)
min_gap = 0.4 * float(np.hypot(*np.ptp(toy_normal, axis=0)))  # 40 % of the data's bounding-box diagonal
pairs = {title: closest_distinct_pair(d, toy_normal, min_gap=min_gap) for title, d in learned.items()}
fields = [distance_field(d, reference, xs, ys) for d in learned.values()]
ui.chart(vd.distance_field_figure(xs, ys, fields, reference=reference, points=points, data=toy_X,
                                  pairs=[(p.a, p.b) for p in pairs.values()], titles=list(learned)), f"{PAGE}_field")
st.caption("Colour = d_f(reference, p) for every p in the plane (dark = close). White dots: the toy data f "
           f"is trained on. Orange dotted line: of all pairs of normal toy points at least {min_gap:.2f} apart in the "
           "plane, the one d_f can tell apart least. After training it usually joins the two ends of one class.")
cols = st.columns(len(pairs))
for col, (title, p) in zip(cols, pairs.items(), strict=True):
    exact = " — exactly 0: identity of indiscernibles fails" if p.d == 0 else ""
    col.metric(f"Closest far-apart pair · {title.split(' (')[0]}", f"d_f = {p.d:.4f}",
               help=f"({p.a[0]:.2f}, {p.a[1]:.2f}) and ({p.b[0]:.2f}, {p.b[1]:.2f}) are {p.gap:.2f} apart "
                    "in the plane.")
    col.caption(f"({p.a[0]:.2f}, {p.a[1]:.2f}) and ({p.b[0]:.2f}, {p.b[1]:.2f}), {p.gap:.2f} apart in the "
                f"plane{exact}.")

if run is not None:
    ex.section(PAGE, lambda: ex.distance_files(run), stem=f"adlab_{PAGE}_toy-{run.config.toy}_seed{run.config.seed}")
