"""Distance axioms: the four metric axioms, hand-placed counterexamples, and a learned distance."""

from __future__ import annotations

from collections.abc import Callable

try:
    from pages import _export as ex
    from pages import _i18n as i18n_ui
    from pages import _jobs as jobs
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/distances.py, AppTest)
    import _export as ex
    import _i18n as i18n_ui
    import _jobs as jobs
    import _ui as ui

ui.ensure_app_shell()


import numpy as np
import pandas as pd
import streamlit as st

from adlab import distances as dist
from adlab import i18n
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
t, lang = i18n_ui.t, i18n_ui.lang()
# the table's columns inside the session (and in the tests); the editor shows them in the page's language
COLUMNS = ("coordinate 1", "coordinate 2")
MIN_POINTS, MAX_POINTS = 3, 8
LEARNED_DEMO = "learned_demo"  # the demo encoder f(x) = x_1 from adlab.distances.DEMOS
# the counterexample buttons (demo keys); loading a preset also selects the distance it breaks
PRESETS = ("squared_euclidean", "cosine", "cosine_identity", "learned", "kl_divergence")
METRICS = ("euclidean", "squared_euclidean", "cosine", "angular", "manhattan", "chebyshev", "kl_divergence",
           LEARNED_DEMO)
LOSSES, ENCODERS, TOYS = ("triplet", "supcon"), ("mlp", "collapsed"), ("moons", "blobs")
AXIOM_KEY = {  # adlab's axiom codes -> the catalogue's distances.axiom.<key>
    dist.NON_NEGATIVITY: "non_negativity",
    dist.IDENTITY: "identity",
    dist.SYMMETRY: "symmetry",
    dist.TRIANGLE: "triangle",
}
AXIOM_LATEX = {
    dist.NON_NEGATIVITY: r"d(x, y) \ge 0",
    dist.IDENTITY: r"d(x, y) = 0 \iff x = y",
    dist.SYMMETRY: r"d(x, y) = d(y, x)",
    dist.TRIANGLE: r"d(x, z) \le d(x, y) + d(y, z)",
}


def axiom_text(axiom: str, part: str) -> str:
    """``part`` (name, title, short, meaning) of the axiom with adlab's code ``axiom``."""
    return t(f"distances.axiom.{AXIOM_KEY[axiom]}.{part}")


def option_label(group: str) -> Callable[[str], str]:
    """A format function: an option's value ``v`` as the text ``distances.<group>.<v>``, in this run's
    language (:func:`pages._i18n.option_labels`)."""
    return i18n_ui.option_labels(f"distances.{group}")


metric_label = option_label("metric")


def column_label(column: str) -> str:
    """A table column (``coordinate 1``) as the editor shows it."""
    return t("distances.coordinate", n=COLUMNS.index(column) + 1)


def distance_by_key(key: str) -> dist.Distance:
    return dist.demo_points("learned").distance if key == LEARNED_DEMO else dist.get_distance(key)


def frame(points: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(np.asarray(points, dtype=np.float64).reshape(-1, 2), columns=list(COLUMNS))


# ----------------------------------------------------------------------------- session state
# The points are a setting: ``distances_points`` (a list of [x, y]) goes into the link, so a link
# reopens the table the lecturer built. The editable table and its bookkeeping are internal ("_" keys).
POINTS = f"{PAGE}_points"
TABLE, CURRENT, EDITOR_V, DRAWS = f"_{PAGE}_table", f"_{PAGE}_current", f"_{PAGE}_editor_v", f"_{PAGE}_draws"
EDITOR_LANG = f"_{PAGE}_editor_lang"  # the language the editor's column names are in
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
        st.warning(t("distances.link_points", key=POINTS, max=MAX_POINTS))
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


if ss.get(EDITOR_LANG, lang) != lang:  # the editor's edits name its columns: start a fresh one, keeping them
    _replace_points(ss.get(CURRENT, ss[TABLE]))
ss[EDITOR_LANG] = lang


# ----------------------------------------------------------------------------- helpers
def clean_points(df: pd.DataFrame) -> np.ndarray | None:
    """The table as an ``(n, 2)`` array, warning about every problem; None when unusable."""
    values = df.reindex(columns=list(COLUMNS)).apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    empty = np.all(np.isnan(values), axis=1)
    values = values[~empty]
    finite = np.isfinite(values)
    for r in np.flatnonzero(~finite.all(axis=1)):
        missing = [repr(column_label(COLUMNS[c])) for c in range(2) if not finite[r, c]]
        columns = missing[0] if len(missing) == 1 else t("distances.columns_both", first=missing[0], second=missing[1])
        st.warning(t("distances.row_unusable", row=r, columns=columns))
    values = values[finite.all(axis=1)]
    if len(values) > MAX_POINTS:
        st.warning(t("distances.too_many", count=len(values), max=MAX_POINTS))
        values = values[:MAX_POINTS]
    if len(values) < 2:
        key = "distances.too_few_one" if len(values) == 1 else "distances.too_few_many"
        st.warning(t(key, min=MIN_POINTS, count=len(values)))
        return None
    if len(values) < MIN_POINTS:
        st.info(t("distances.two_points"))
    return values


DOMAIN_HINT = {"cosine": "hint_angle", "angular": "hint_angle", "kl_divergence": "hint_probability"}


def check(distance: dist.Distance, points: np.ndarray) -> tuple[dist.AxiomReport, np.ndarray] | str:
    """The axiom report and distance matrix, or the reason the distance is undefined on ``points``."""
    try:
        report = dist.check_axioms(distance, points, lang=lang)
        return report, distance.pairwise(points)
    except ValueError as err:
        return i18n.message(err, lang)


HOLDS = ":green[:material/check_circle:]"  # an icon font bundled with Streamlit: renders without emoji fonts
BREAKS = ":red[:material/cancel:]"


def axiom_lines(report: dist.AxiomReport) -> None:
    for r in report.results:
        name = axiom_text(r.name, "name")
        if r.holds:
            st.markdown(t("distances.line_holds", icon=HOLDS, name=name, message=r.message))
        else:
            st.markdown(t("distances.line_breaks", icon=BREAKS, name=name, sentence=r.worst.sentence,
                          failures=r.failures, checked=r.checked), unsafe_allow_html=True)


def theory(distance: dist.Distance) -> str:
    kind = t(f"distances.kind.{distance.kind}")
    if not distance.fails:
        return t("distances.theory_holds", kind=kind)
    return t("distances.theory_breaks", kind=kind, axioms=", ".join(axiom_text(a, "short") for a in distance.fails))


def verdicts(distance: dist.Distance, points: np.ndarray) -> list[str]:
    """One code per axiom: ``holds``, ``breaks`` or ``undefined`` (the distance cannot be computed there)."""
    try:
        report = dist.check_axioms(distance, points)
    except ValueError:
        return ["undefined"] * len(dist.AXIOMS)
    return ["holds" if report[a].holds else "breaks" for a in dist.AXIOMS]


# plain words and cell colours: the table must read the same without an emoji font (Debian's chromium has none)
VERDICT_STYLE = {"holds": "color: #1b7f3b", "breaks": "color: #c92a2a; font-weight: 700",
                 "undefined": "color: #868e96", "no_points": "color: #868e96"}
VERDICT_STYLE_SHOWN = {t(f"distances.verdict.{code}"): style for code, style in VERDICT_STYLE.items()}


def verdict_style(value: str) -> str:
    """The colour of a cell of the comparison table, which shows a verdict in the page's language."""
    return VERDICT_STYLE_SHOWN.get(value, "")


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
st.title(t("distances.title"))
st.markdown(t("distances.intro"))
cols = st.columns(2)
for i, axiom in enumerate(dist.AXIOMS, start=1):
    with cols[(i - 1) % 2].container(border=True):
        st.markdown(t("distances.card_title", number=i, name=axiom_text(axiom, "title")))
        st.latex(AXIOM_LATEX[axiom])
        st.caption(axiom_text(axiom, "meaning"))
st.markdown(t("distances.why"))

# ----------------------------------------------------------------------------- 2. place points
st.header(t("distances.place_header"))
st.caption(t("distances.place_caption"))
preset_cols = st.columns(3)
for i, key in enumerate(PRESETS):
    preset_cols[i % 3].button(t(f"distances.preset.{key}"), key=f"{PAGE}_preset_{key}", on_click=_load_preset,
                              args=(key,), width="stretch", help=dist.demo_points(key).caption(lang))
n_rows = len(ss.get(CURRENT, ss[TABLE]))
preset_cols[2].button(t("distances.add_random"), key=f"{PAGE}_add", on_click=_add_random, width="stretch",
                      icon=":material/add:", disabled=n_rows >= MAX_POINTS,
                      help=t("distances.add_random_help", max=MAX_POINTS))

left, right = st.columns([2, 3])
with left:
    shown_columns = {c: column_label(c) for c in COLUMNS}
    edited = st.data_editor(
        ss[TABLE].rename(columns=shown_columns),
        key=f"_{PAGE}_editor_{ss[EDITOR_V]}",
        num_rows="dynamic",
        hide_index=True,
        column_config={c: st.column_config.NumberColumn(c, format="%.3f") for c in shown_columns.values()},
        width="stretch",
    ).rename(columns={shown: c for c, shown in shown_columns.items()})
    ss[CURRENT] = edited
    metric_key = st.selectbox(t("distances.distance"), METRICS, key=f"{PAGE}_metric", format_func=metric_label)
    distance = distance_by_key(metric_key)
    for part in distance.latex.split(r", \quad "):  # one line each: a learned distance's two parts fit the column
        st.latex(part)
    st.markdown(t("distances.theory_line", claim=distance.claim_in(lang), theory=theory(distance),
                  domain=distance.domain_in(lang)))
    if getattr(distance, "embedding", None) is not None:  # the torch object behind the numbers
        st.caption(t("distances.computed_by", kind=distance.embedding.kind))

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
        hint = t(f"distances.{DOMAIN_HINT[metric_key]}") if metric_key in DOMAIN_HINT else ""
        st.warning(t("distances.undefined", label=metric_label(metric_key), reason=outcome, hint=hint))

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
        ui.chart(vd.points_figure(points, distances=matrix, triangle=triangle, zero_pair=zero_pair, height=400,
                                  lang=lang), f"{PAGE}_scatter")

if points is not None and not isinstance(outcome, str):
    report, matrix = outcome
    c1, c2 = st.columns([3, 2])
    with c1:
        st.subheader(t("distances.axioms_header"))
        axiom_lines(report)
        if report.all_hold:
            st.success(t("distances.all_hold"))
    with c2:
        st.subheader(t("distances.pairwise_header"))
        labels = [f"x{i}" for i in range(len(points))]
        st.dataframe(pd.DataFrame(matrix, index=labels, columns=labels).style.format("{:.3f}"),
                     width="stretch")
        st.caption(t("distances.pairwise_caption"))

# ----------------------------------------------------------------------------- 3. comparison
st.header(t("distances.table_header"))
rows = []
for key in METRICS:
    d = distance_by_key(key)
    yours = verdicts(d, points) if points is not None else ["no_points"] * 4
    sample = sample_verdicts(key)
    row = {t("distances.table.distance"): metric_label(key), t("distances.table.theory"): theory(d)}
    for axiom, a, b in zip(dist.AXIOMS, yours, sample, strict=True):
        short = axiom_text(axiom, "short")
        row[t("distances.table.your_points", axiom=short)] = t(f"distances.verdict.{a}")
        row[t("distances.table.random_sample", axiom=short)] = t(f"distances.verdict.{b}")
    rows.append(row)
st.dataframe(pd.DataFrame(rows).set_index(t("distances.table.distance")).style.map(verdict_style), width="stretch",
             key=f"{PAGE}_table")
st.caption(t("distances.table_caption"))

# ----------------------------------------------------------------------------- 4. learned
st.header(t("distances.learned_header"))
st.markdown(t("distances.learned_intro"))
with st.form(f"{PAGE}_form"):
    c1, c2, c3, c4, c5 = st.columns(5)
    toy = c1.selectbox(t("distances.toy_label"), TOYS, key=f"{PAGE}_toy", format_func=option_label("toy"))
    loss = c2.selectbox(t("distances.loss"), LOSSES, key=f"{PAGE}_loss",
                        format_func=option_label("loss_name"))
    encoder = c3.selectbox(t("distances.encoder"), ENCODERS, key=f"{PAGE}_encoder",
                           format_func=option_label("encoder_name"))
    epochs = int(c4.number_input(t("distances.epochs"), 1, 100, 20, key=f"{PAGE}_epochs"))
    seed = int(c5.number_input(t("distances.seed"), 0, 10_000, 0, key=f"{PAGE}_seed"))
    submitted = st.form_submit_button(t("distances.train"), type="primary", key=f"{PAGE}_train")

job = None
if submitted:
    ss.pop(f"{PAGE}_run", None)
    try:
        cfg = DistanceDemoConfig(toy=toy, loss=loss, encoder=encoder, epochs=epochs, seed=seed, device=ui.device())
        job = jobs.spec("learned_distance", cfg, seed=seed, device=cfg.device,
                        label=t("distances.job_label", toy=t(f"distances.toy.{toy}")))
    except ValueError as err:
        jobs.cancel(PAGE)
        st.error(t("distances.failed", error=i18n.message(err, lang)))
done = jobs.run_job(PAGE, job, page=PAGE, title=t("distances.training"),
                    summary=lambda r: t("distances.trained_in", seconds=r.history.seconds))
if done is not None:
    ss[f"{PAGE}_run"] = done.result

run: LearnedDistanceRun | None = ss.get(f"{PAGE}_run")
if run is None:
    cfg = DistanceDemoConfig(toy=toy, encoder=encoder, seed=seed)
    encoders = {"before": build_demo_encoder(cfg)}
    ds = make_toy(cfg.toy, n=cfg.n, seed=cfg.seed)
    toy_X, toy_normal = ds.X, ds.X[ds.y != len(ds.class_names) - 1]
    st.info(t("distances.press_train"))
else:
    cfg = run.config
    encoders = {"before": run.encoder_before, "after": run.encoder_after}
    toy_X, toy_normal = run.X, run.X[run.y != len(run.class_names) - 1]
    h = run.history
    st.success(t("distances.trained", encoder=t(f"distances.encoder_name.{cfg.encoder}"),
                 loss=t(f"distances.loss_name.{cfg.loss}"), toy=t(f"distances.toy.{cfg.toy}"), epochs=cfg.epochs,
                 seconds=h.seconds, device=h.device, first=h.epoch_losses[0], last=h.epoch_losses[-1]))
learned = {stage: dist.LearnedDistance(f) for stage, f in encoders.items()}  # stage: "before" / "after"

if points is not None:
    st.subheader(t("distances.learned_axioms_header"))
    cols = st.columns(len(learned))
    for col, (stage, d) in zip(cols, learned.items(), strict=True):
        with col:
            st.markdown(f"**{t(f'distances.stage.{stage}')}**")
            axiom_lines(dist.check_axioms(d, points, lang=lang))
    st.button(t("distances.twin"), key=f"{PAGE}_twin", icon=":material/add:", on_click=_add_twin,
              disabled=n_rows >= MAX_POINTS, help=t("distances.twin_help"))

# the geometry: distance to a reference point over the whole input plane
ref_options = list(range(len(points))) if points is not None else []
if ss.get(f"{PAGE}_ref") not in ref_options:
    ss.pop(f"{PAGE}_ref", None)
if ref_options:
    ref_i = st.selectbox(t("distances.reference"), ref_options, key=f"{PAGE}_ref",
                         format_func=lambda i: f"x{i} = ({points[i][0]:.2f}, {points[i][1]:.2f})")
    reference = points[ref_i]
else:
    reference = np.zeros(2)
xs, ys = plane_grid(toy_X, *([points] if points is not None else []), steps=60)
min_gap = 0.4 * float(np.hypot(*np.ptp(toy_normal, axis=0)))  # 40 % of the data's bounding-box diagonal
pairs = {stage: closest_distinct_pair(d, toy_normal, min_gap=min_gap) for stage, d in learned.items()}
fields = [distance_field(d, reference, xs, ys) for d in learned.values()]
ui.chart(vd.distance_field_figure(xs, ys, fields, reference=reference, points=points, data=toy_X,
                                  pairs=[(p.a, p.b) for p in pairs.values()],
                                  titles=[t(f"distances.stage.{stage}") for stage in learned], lang=lang),
         f"{PAGE}_field")
st.caption(t("distances.field_caption", gap=min_gap))
cols = st.columns(len(pairs))
for col, (stage, p) in zip(cols, pairs.items(), strict=True):
    where = dict(a1=p.a[0], a2=p.a[1], b1=p.b[0], b2=p.b[1], gap=p.gap)
    col.metric(t("distances.pair_label", encoder=t(f"distances.stage.{stage}_short")), f"d_f = {p.d:.4f}",
               help=t("distances.pair_help", **where))
    col.caption(t("distances.pair_caption", exact=t("distances.pair_exact") if p.d == 0 else "", **where))

if run is not None:
    ex.section(PAGE, lambda: ex.distance_files(run), stem=f"adlab_{PAGE}_toy-{run.config.toy}_seed{run.config.seed}")
