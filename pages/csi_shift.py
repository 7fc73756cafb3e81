"""Which augmentation is a shift? One transformation used three ways in SimCLR, and CSI's criterion."""

try:
    from pages import _jobs as jobs
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/csi_shift.py, AppTest)
    import _jobs as jobs
    import _ui as ui

ui.ensure_app_shell()

from pathlib import Path

import numpy as np
import streamlit as st

from adlab import viz_shift
from adlab.device import pick_device
from adlab.lessons import shift

PAGE = "shift"  # the prefix of this page's keys (settings in the link, results in the session)
URL_PATH = Path(__file__).stem  # app.py's name for the page: its jobs are cancelled when the user leaves it
ui.begin(PAGE)
LABELS = {"unused": "not used", "positive": "as a positive", "negative": "as a shifted negative"}
ROW_TITLES = {
    "unused": "Not used: two views A(x), A(x) of each image, a positive pair",
    "positive": "As a positive: two views A(T_a x), A(T_b x), T drawn for each view, still a positive pair",
    "negative": "As a shifted negative: every T_k x is an instance of its own (two views each), a negative of the others",
}

st.title("Which augmentation is a shift?")
st.markdown(
    "SimCLR makes two views of an image and pulls them together: whatever changes between the views, the "
    "network learns to ignore. That is right for a change that keeps a digit what it is (a slight stretch, a "
    "brighter stroke). It is wrong for one that makes it look unlike the normal data: a network that has "
    "learned to ignore rotation cannot see that an upside-down 7 is odd. CSI (Tack et al., NeurIPS 2020) "
    "therefore splits transformations in two. **Augmentations** make positives. **Shifting "
    "transformations** make new instances: a rotated copy is a **negative**, even of its own image. Which "
    "kind is a transformation? Try it: pick one, and SimCLR is trained on the normal digit three ways, "
    "everything else equal."
)
st.latex(r"\text{not used: }\bigl(A(x),\,A'(x)\bigr)\qquad"
         r"\text{positive: }\bigl(A(T_a x),\,A'(T_b x)\bigr),\ a,b\sim\mathcal U\{0..K{-}1\}\qquad"
         r"\text{negative: }\bigl(A(T_k x),\,A'(T_k x)\bigr)\ \ \forall k")
st.latex(r"\mathcal L=\mathrm{NT\text{-}Xent}_{\tau=0.5}\ \text{over the pairs of a batch},\qquad "
         r"s(x)=\frac1k\sum_{j\in\mathrm{kNN}(x)}\bigl(1-\cos(f(x),f(x_j))\bigr)")
st.markdown(
    "- $T = \\{T_0 = \\text{identity}, T_1, \\dots, T_{K-1}\\}$: the transformation as a finite set (rotation: "
    "$K = 4$, by $0°, 90°, 180°, 270°$; a flip: $K = 2$, as is or flipped). $A, A'$: the base augmentation "
    "of every view (a small stretch, brightness and contrast), drawn independently.\n"
    "- **Not used**: plain SimCLR. **As a positive**: $T$ is one more augmentation. **As a shifted negative** "
    "(CSI's way): a batch of $B$ images holds $KB$ instances; $T_j x$ is a negative of $T_k x$ for $j \\ne k$.\n"
    "- Score, the same for all three: the mean cosine distance from the test image's encoder features $f(x)$ "
    "to its $k = 5$ nearest normal training images $x_j$, on the plain (untransformed) images. **Higher = more "
    "anomalous.** One-class AUROC: one digit is normal, the other nine are the anomalies."
)
with st.expander("Paper, criterion, and how this lesson differs from CSI", expanded=False):
    st.markdown(
        "- **Paper:** Tack, Mo, Jeong & Shin, *CSI: Novelty Detection via Contrastive Learning on "
        "Distributionally Shifted Instances*, NeurIPS 2020 (official code `alinlab/CSI`). They compared "
        "transformations such as Cutout, Sobel filtering, noise, blur, a jigsaw-like permutation and rotation, "
        "each used as an augmentation and as a shift: **a transformation that hurts when used as a positive "
        "helps when used as a shifted negative**; rotation is their choice (the official code also offers the "
        "permutation, `cutperm`). CIFAR-10 one-class mean AUROC: SimCLR 87.9, CSI 94.3.\n"
        "- **Here:** only CSI's contrastive part (L_con-SI). CSI also trains a head to name the rotation and "
        "scores every rotated copy; the CSI page shows all of that. This page scores the plain image the same "
        "way for all three runs, so the only difference between them is where $T$ went in training.\n"
        "- **Same start:** the three runs of a digit share their initial weights, batch order and split; the "
        "negative run sees $K$ times as many instances per step, as in CSI.\n"
        "- **Small:** a small MLP on the 64 pixels of 8×8 digits, about 90 normal training images per digit, "
        "20 steps. On these digits kNN on the raw pixels is already near perfect (about 0.99), and so is the "
        "untrained network (about 0.98); plain SimCLR lands below it (about 0.87), as its features drift towards "
        "telling the 90 training images apart. A transformation that makes that task harder gives some of it "
        "back, so here most transformations help a little even as positives. What the page measures is the "
        "**order** of the three bars. Over 3 seeds (`bench/results/shift.md`): rotation +0.04 as a positive, "
        "+0.10 as a negative; blur +0.00 and +0.09; inverting the intensity +0.10 either way."
    )

# ----------------------------------------------------------------------------- what each way trains on
st.header("What each way trains on")
names = list(shift.TRANSFORMS)
transform = st.selectbox("Transformation T", names, format_func=lambda n: shift.TRANSFORMS[n].label,
                         key=f"{PAGE}_transform",
                         help="Rotation is CSI's shifting transformation. Each one is a small set of fixed changes, "
                              "the first the identity.")


@st.cache_data(show_spinner=False)
def views(name: str) -> shift.ShiftExamples:
    return shift.example_views(name)


ex = views(transform)
ui.chart(viz_shift.views_figure(ex.pairs, ex.shifted, ex.names, ROW_TITLES), f"{PAGE}_views")
st.caption("Three images of a 2 from the training set. In the first two rows each image gives one positive pair; "
           "in the last row each of its shifted copies is a separate instance (shown before the base augmentation, "
           "which each of its two views then gets).")

# ----------------------------------------------------------------------------- the run
st.header("Train SimCLR three ways")
with ui.settings_container():
    with st.form(f"{PAGE}_form"):
        c1, c2, c3 = st.columns([3, 1, 1])
        classes = c1.multiselect("Normal digits (one run each, then averaged)", list(range(10)),
                                 default=list(range(10)), key=f"{PAGE}_classes",
                                 help="For each digit: that digit is normal (its training images), the other nine "
                                      "are the anomalies. Fewer digits, a faster run.")
        epochs = int(c2.number_input("Epochs", 1, 200, shift.ShiftConfig.epochs, key=f"{PAGE}_epochs",
                                     help="One step per epoch (a batch of 64 of the about 90 training images)."))
        seed = int(c3.number_input("Seed", 0, 10_000, 0, key=f"{PAGE}_seed",
                                   help="Seeds the split, the initial weights (shared by the three runs), the batch "
                                        "order and the views."))
        submitted = st.form_submit_button("Run", type="primary", key=f"{PAGE}_train")
ui.state.sync(PAGE)

job = None
if submitted:
    st.session_state.pop(f"{PAGE}_results", None)
    try:
        if not classes:
            raise ValueError("Normal digits is empty: pick at least one digit")
        cfg = shift.ShiftConfig(transform=transform, classes=tuple(sorted(classes)), epochs=epochs, seed=seed,
                                device=pick_device(ui.device()).type)
        job = jobs.spec("lesson", "shift", "compare", cfg, seed=seed, device=ui.device(),
                        label=f"SimCLR three ways, {cfg.shifts.label.lower()}")
    except ValueError as err:
        jobs.cancel(PAGE)
        st.error(str(err))
done = jobs.run_job(PAGE, job, page=URL_PATH, title="Training SimCLR three ways…",
                    summary=lambda r: f"Trained {r.auroc.size} networks in {r.seconds.sum():.1f} s on {r.device}")
if done is not None:
    st.session_state[f"{PAGE}_results"] = done.result

result = st.session_state.get(f"{PAGE}_results")
if result is None:
    st.info("Press **Run** to train SimCLR three ways on each normal digit (a few seconds at the defaults).")
    st.stop()

# ----------------------------------------------------------------------------- results
cfg, mean = result.config, result.mean
label = cfg.shifts.label
st.subheader(f"{label}: mean one-class AUROC over {len(cfg.classes)} digit{'s' * (len(cfg.classes) > 1)}")
cols = st.columns(len(mean))
for col, (mode, value) in zip(cols, mean.items(), strict=True):
    delta = None if mode == "unused" or "unused" not in mean else f"{value - mean['unused']:+.3f} vs not used"
    col.metric(f"T {LABELS[mode]}", f"{value:.3f}", delta=delta)
references = {"untrained network": float(result.untrained_auroc.mean()), "kNN on raw pixels": float(result.raw_auroc.mean())}
ui.chart(viz_shift.auroc_figure(mean, dict(zip(result.modes, result.auroc, strict=True)), result.classes,
                                {m: f"T {LABELS[m]}" for m in result.modes}, references), f"{PAGE}_bars")
st.caption(f"Bars: mean AUROC over the normal digits {', '.join(map(str, cfg.classes))}; dots: one digit each "
           "(hover names it). Score: kNN cosine distance (k = 5) on the encoder features of the plain images, higher "
           "= more anomalous. Green lines: the same score on the untrained network (the runs' shared starting point) "
           "and on the raw pixels.")

st.subheader("CSI's criterion, and what you just measured")
v = shift.verdict(result)
st.markdown("**The criterion** (Tack et al., NeurIPS 2020): if a transformation **hurts when used as a positive** "
            "(an augmentation), use it as a **shifted negative** instead. Rotation is the one they chose.")
lines = []
if v.as_positive is not None:
    lines.append(f"As a positive, {label.lower()} moved the mean AUROC by **{v.as_positive:+.3f}** "
                 f"({'it hurts' if v.hurts_as_positive else 'it helps' if v.as_positive > shift.TIE else 'about the same'}).")
if v.as_negative is not None:
    wins = int((result.auroc[result.modes.index("negative")] > result.auroc[0]).sum())
    lines.append(f"As a shifted negative it moved it by **{v.as_negative:+.3f}**, better than not using it on "
                 f"{wins} of {len(cfg.classes)} digits.")
if v.hurts_as_positive and v.helps_as_negative:
    lines.append("**The criterion is met: a shift.** It hurts as an augmentation and helps as a negative, as "
                 "rotation does in the paper.")
elif v.shift:
    lines.append("**Better as a shift.** It does not hurt as a positive here, so the criterion's first half does "
                 "not fire, but it helps most as a shifted negative: on these numbers, treat it as CSI treats rotation.")
elif v.best == "positive":
    lines.append("**An augmentation.** It helps most as a positive: keep it among the views, not as a shift.")
elif v.best == "unused" and len(mean) > 1:
    lines.append("**Neither.** Not using it scores best here: leave it out.")
elif v.best is None and (v.as_positive or 0) > shift.TIE and v.helps_as_negative:
    lines.append("**Either way.** It helps about as much as a positive as it does as a negative: these numbers do "
                 "not pick a side.")
else:
    lines.append(f"**Undecided.** The best two runs differ by less than {shift.TIE} here.")
st.markdown("\n".join(f"- {line}" for line in lines))
st.caption(f"Differences below {shift.TIE} count as ties. Written from this run's numbers: another seed or other digits "
           "move them; the bench (bench/results/shift.md) repeats them over seeds and transformations.")

with st.expander("Per digit", expanded=False):
    table = {"normal digit": list(cfg.classes)}
    table.update({f"T {LABELS[m]}": np.round(result.auroc[i], 3) for i, m in enumerate(result.modes)})
    table.update({name: np.round(values, 3) for name, values in
                  (("untrained", result.untrained_auroc), ("raw pixels", result.raw_auroc))})
    st.dataframe(table, hide_index=True, key=f"{PAGE}_table")
    st.caption(f"{result.auroc.size} networks, {result.seconds.sum():.1f} s of training and scoring on {result.device}; "
               f"{cfg.epochs} epochs, batch {cfg.batch_size}, lr {cfg.lr:g}, τ {cfg.temperature:g}, seed {cfg.seed}.")
