"""Why contrastive features help (the seminar's slide "Contrastive learning의 효과"): label noise, CE + λ·contrastive,
and contrastive pre-training against supervised training."""

try:
    from pages import _jobs as jobs
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/why_contrastive.py, AppTest)
    import _jobs as jobs
    import _ui as ui

ui.ensure_app_shell()

from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from adlab import viz_why
from adlab.device import pick_device
from adlab.lessons import why_contrastive as why

PAGE = "why"  # the prefix of this page's keys (settings in the link, results in the session)
URL_PATH = Path(__file__).stem  # app.py's name for the page: its jobs are cancelled when the user leaves it
ui.begin(PAGE)
LOSS_LABELS = {"supcon": "SupCon (uses the labels)", "simclr": "SimCLR (no labels)"}
READOUT_LABELS = {"knn": "kNN vote", "ridge": "linear probe (ridge)"}
C = viz_why.METHOD_COLOURS

st.title("Why contrastive features help")
st.markdown(
    "The seminar's slide *Contrastive learning의 효과* makes three claims. **(1)** Contrastive learning can raise "
    "accuracy and robustness, where plain cross-entropy (CE) is fragile under **label noise**. **(2)** It can be "
    "**added to CE** as a second loss for a better representation. **(3)** Used for **pre-training**, with the right "
    "augmentations, it can beat ordinary supervised training. Each section below tests one claim on the 8×8 digits: "
    "press its button and a few networks train (a few seconds each run on a CPU)."
)
with st.expander("The setup shared by the three sections", expanded=False):
    st.markdown(
        f"- **Data:** scikit-learn's 1,797 digits (8×8, built in), shuffled with the seed: "
        f"{1797 - why.Common.n_test} train, {why.Common.n_test} test. Accuracy is always measured on the **clean** "
        "test labels; test labels never enter training.\n"
        "- **One network for every method:** the small CNN encoder $f$ the loss pages use on digits (64 features), a "
        "linear classifier $c$ on $f$ for CE, and a projection head $g$ on $f$ for the contrastive losses (SimCLR's "
        "recipe: the loss acts on $g(f(x))$, the read-out uses $f(x)$). Same seed, same initial weights for all.\n"
        "- **Views:** the loss pages' augmentation (random crop, brightness/contrast, blur, noise) **without the "
        "mirror flip**: a mirrored 2 is not a 2, so a flip would make positives of different digits. Tick *mirror* "
        "in a form to see what it costs.\n"
        "- **Read-outs of frozen features**, fitted on the training labels (noisy where the section adds noise): a "
        "**kNN vote** (k nearest training images by cosine similarity; the majority label), a **ridge** linear "
        "probe (closed form, L2 penalty) and, in section 3, the **logistic-regression** probe of the SimCLR and "
        "SupCon papers' linear evaluation.\n"
        "- Adam, learning rate 0.003, temperature τ = 0.5, 20 epochs by default; everything seeded."
    )


def run_section(slot: str, submitted: bool, build: Callable[[], Any], function: str, label: str) -> Any:
    """Submit the section's job when its button was pressed, follow it, keep and return its result."""
    job = None
    if submitted:
        st.session_state.pop(f"{slot}_results", None)  # a stale chart must not pass for the new run
        try:
            cfg = build()
            job = jobs.spec("lesson", "why_contrastive", function, cfg, seed=cfg.seed, device=cfg.device, label=label)
        except ValueError as err:
            jobs.cancel(slot)
            st.error(str(err))
    done = jobs.run_job(slot, job, page=URL_PATH, title=f"{label}…",
                        summary=lambda r: f"Done in {r.seconds:.1f} s on {r.config.device}")
    if done is not None:
        st.session_state[f"{slot}_results"] = done.result
    return st.session_state.get(f"{slot}_results")


def common(c_epochs, c_flip, c_seed, slot: str) -> dict[str, Any]:
    """The epochs, mirror and seed widgets every form has, in the given columns."""
    return dict(epochs=int(c_epochs.number_input("Epochs", 1, 60, why.Common.epochs, key=f"{slot}_epochs")),
                seed=int(c_seed.number_input("Seed", 0, 10_000, 0, key=f"{slot}_seed",
                                             help="Seeds the split, the label noise, the weights, the batches, the views.")),
                flip=bool(c_flip.checkbox("Views mirror the image too", value=False, key=f"{slot}_flip",
                                          help="Adds the loss pages' left-right flip to the augmentations.")),
                device=pick_device(ui.device()).type)


# ----------------------------------------------------------------------------- (1) label noise
st.header("1 · Label noise: cross-entropy memorises, contrastive features hold")
st.markdown(
    "A fraction of the training labels is flipped to a wrong digit at random. A CE classifier first learns what the "
    "digits have in common, so its test accuracy rises; then it starts to learn the wrong labels **by heart**, and test "
    "accuracy falls (Arpit et al., ICML 2017: networks fit simple patterns before noise; Zhang et al., ICLR 2017: they "
    "can fit even random labels). Against it, two contrastive encoders: **SupCon** trained on the same noisy labels, and "
    "**SimCLR**, which never reads a label. Their features are read by a kNN vote or a linear probe fitted on the noisy "
    "labels."
)
with ui.settings_container():
    with st.form("why_noise_form"):
        c1, c2, c3 = st.columns([2, 2, 1])
        noise = float(c1.slider("Labels flipped", 0.0, 0.8, 0.4, 0.05, key="why_noise_level",
                                help="Fraction of the training labels replaced by another digit, chosen at random."))
        readout = c2.radio("Read the contrastive features with", list(READOUT_LABELS), format_func=READOUT_LABELS.get,
                           key="why_noise_readout", horizontal=True)
        k = int(c3.number_input("k (kNN)", 1, 50, 10, key="why_noise_k"))
        c4, c5, c6, c7 = st.columns([1, 2, 2, 1])
        shared = common(c4, c6, c7, "why_noise")
        ce_views = bool(c5.checkbox("CE trains on the views too", value=False, key="why_noise_ce_views",
                                    help="CE sees one augmented view per image instead of the image itself."))
        noise_go = st.form_submit_button("Train", type="primary", key="why_noise_train")
ui.state.sync(PAGE)
noise_run = run_section("why_noise", noise_go,
                        lambda: why.NoiseConfig(noise=noise, readout=readout, k=k, ce_views=ce_views, **shared),
                        "label_noise", "CE, SupCon and SimCLR on noisy labels")
if noise_run is None:
    st.info("Press **Train** to train CE, SupCon and SimCLR on the same noisy labels (about 5 s on a CPU).")
else:
    cfg = noise_run.config
    best = int(noise_run.ce.argmax())
    how = READOUT_LABELS[cfg.readout] + (f", k = {cfg.k}" if cfg.readout == "knn" else "")
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("CE, best epoch", f"{noise_run.ce[best]:.3f}", help=f"epoch {best}")
    m2.metric("CE, last epoch", f"{noise_run.ce[-1]:.3f}", delta=f"{noise_run.ce[-1] - noise_run.ce[best]:+.3f} vs best")
    for col, name in ((m3, "supcon"), (m4, "simclr")):
        value = getattr(noise_run, name)[-1]
        col.metric(f"{'SupCon' if name == 'supcon' else 'SimCLR'} + {READOUT_LABELS[cfg.readout]}", f"{value:.3f}",
                   delta=f"{value - noise_run.ce[-1]:+.3f} vs CE")
    curves = {"CE": noise_run.ce, f"SupCon + {how}": noise_run.supcon, f"SimCLR + {how}": noise_run.simclr,
              "flipped labels CE has learnt by heart": noise_run.memorised}
    colours = dict(zip(curves, (C["ce"], C["supcon"], C["simclr"], C["memorised"]), strict=True))
    ui.chart(viz_why.accuracy_curves_figure(noise_run.epochs, curves, colours=colours,
                                            dashed=["flipped labels CE has learnt by heart"],
                                            y_title="test accuracy / share",
                                            title=f"{noise_run.n_flipped} of {noise_run.n_train} training labels flipped"),
             "why_noise_curves")
    last = len(noise_run.ce) - 1
    path = (f"peaks at {noise_run.ce[best]:.3f} (epoch {best}) and ends at {noise_run.ce[-1]:.3f}" if best < last
            else f"ends at {noise_run.ce[-1]:.3f}")
    learnt = (f", having learnt {noise_run.memorised[-1]:.0%} of the wrong labels by heart" if noise_run.n_flipped
              else " (no label was flipped)")
    st.caption(
        f"Test accuracy on the {noise_run.n_test} clean test labels after each epoch (0 = before training). Dotted: the "
        "share of the flipped training images for which CE predicts the wrong label it was given. CE "
        f"{path}{learnt}. The contrastive read-outs end at {noise_run.supcon[-1]:.3f} (SupCon) and "
        f"{noise_run.simclr[-1]:.3f} (SimCLR)."
    )
    st.markdown(
        f"**Read it honestly.** At epoch 0 the contrastive curves already stand at {noise_run.supcon[0]:.3f}: the "
        "untrained CNN is a decent feature map for 8×8 digits, and a vote over neighbours or a penalised linear probe "
        "ignores a minority of wrong labels around each image. Much of the robustness here is that **reading frozen "
        "features** cannot memorise; the contrastive training adds "
        f"{noise_run.supcon[-1] - noise_run.supcon[0]:+.3f} (SupCon) and {noise_run.simclr[-1] - noise_run.simclr[0]:+.3f} "
        "(SimCLR) on top. CE trained end to end is the one that bends its own features to the noise. With *CE trains on "
        "the views too* the augmentations slow its memorisation down a lot in 20 epochs, part of why contrastive "
        "methods resist: they never see an image twice the same way."
    )

# ----------------------------------------------------------------------------- (2) CE + lambda * contrastive
st.header("2 · Cross-entropy + λ · contrastive")
st.latex(r"\mathcal L = \mathrm{CE}\bigl(c(f(x)),\,\tilde y\bigr) \;+\; \lambda\,"
         r"\mathcal L_{\text{con}}\bigl(g(f(v_1)),\,g(f(v_2))\bigr)")
st.markdown(
    "- $\\tilde y$: the training labels, with the fraction chosen below flipped; $v_1, v_2$: two augmented views of $x$.\n"
    "- $\\mathcal L_{\\text{con}}$: **SimCLR**'s NT-Xent (the only positive is the other view) or **SupCon** (every view "
    "with the same noisy label is a positive). $\\lambda = 0$ is CE alone; the page always trains that too, from the "
    "same weights, and compares.\n"
    "- Combining CE with a contrastive term is how Gunel et al. (ICLR 2021) fine-tune language models (CE + λ·SupCon: "
    "better with few labels and more robust to noisy ones); Hendrycks et al. (NeurIPS 2019) report that an auxiliary "
    "self-supervised loss (there: predicting rotations) makes a classifier more robust to label corruption."
)
with ui.settings_container():
    with st.form("why_mix_form"):
        c1, c2, c3 = st.columns([2, 2, 2])
        lam = float(c1.slider("λ", 0.0, 5.0, 2.0, 0.5, key="why_mix_lam",
                              help="Weight of the contrastive term; 0 trains CE alone."))
        loss = c2.radio("Contrastive term", list(LOSS_LABELS), index=1, format_func=LOSS_LABELS.get, key="why_mix_loss",
                        horizontal=True)
        mix_noise = float(c3.slider("Labels flipped", 0.0, 0.8, 0.4, 0.05, key="why_mix_noise"))
        c4, c5, c6 = st.columns(3)
        shared = common(c4, c5, c6, "why_mix")
        mix_go = st.form_submit_button("Train", type="primary", key="why_mix_train")
ui.state.sync(PAGE)
mix_run = run_section("why_mix", mix_go, lambda: why.MixConfig(lam=lam, loss=loss, noise=mix_noise, **shared),
                      "mixed_loss", "CE against CE + λ·contrastive")
if mix_run is None:
    st.info("Press **Train** to train CE alone and CE + λ·contrastive from the same weights (about 4 s).")
else:
    cfg = mix_run.config
    term = f"CE + {cfg.lam:g}·{'SimCLR' if cfg.loss == 'simclr' else 'SupCon'}"
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("CE alone: test accuracy", f"{mix_run.accuracy_ce:.3f}")
    m2.metric(f"{term}: test accuracy", f"{mix_run.accuracy_mix:.3f}",
              delta=f"{mix_run.accuracy_mix - mix_run.accuracy_ce:+.3f} vs CE alone")
    m3.metric("CE alone: kNN on its features", f"{mix_run.knn_ce:.3f}")
    m4.metric(f"{term}: kNN on its features", f"{mix_run.knn_mix:.3f}", delta=f"{mix_run.knn_mix - mix_run.knn_ce:+.3f}")
    ui.chart(viz_why.accuracy_curves_figure(mix_run.epochs, {"CE alone": mix_run.curve_ce, term: mix_run.curve_mix},
                                            colours={"CE alone": C["ce"], term: C["mix"]}, height=360,
                                            title=f"Classifier's test accuracy, {cfg.noise:.0%} of the labels flipped"),
             "why_mix_curves")
    ui.chart(viz_why.class_maps_figure({"CE alone": mix_run.map_ce, term: mix_run.map_mix}, mix_run.y_test),
             "why_mix_maps")
    pull = ("pulls each image towards its own augmented views, whatever its label says" if cfg.loss == "simclr" else
            "pulls together the images that share a (noisy) label, so it is led by the noise too")
    st.caption(
        f"UMAP of the {len(mix_run.y_test)} test images' encoder features f(x), coloured by their true digit (the right "
        f"map rotated onto the left one). Test accuracy = the classifier head's; kNN = a vote of the {cfg.k} nearest "
        "training features with their noisy labels. CE alone bends its features to the wrong labels and the digits "
        f"smear into each other; the {'SimCLR' if cfg.loss == 'simclr' else 'SupCon'} term {pull}. On clean labels "
        "(flip 0) the term does not help here: CE alone already reaches about 0.98."
    )

# ----------------------------------------------------------------------------- (3) pre-training
st.header("3 · Contrastive pre-training, then a linear probe")
st.markdown(
    "Pre-train the encoder with a contrastive loss, freeze it, and fit only a linear classifier on top (the **linear "
    "evaluation** of SimCLR and SupCon). Compare with CE trained end to end on the same labels, with a few labels and "
    "with all of them. SupCon pre-trains on the labelled images only; SimCLR on every training image, without labels. "
    "Every training takes as many optimiser steps as 20 epochs on all images, however few labels it has. Grey bars: the "
    "same probe on the **untrained** encoder, what the probe gets for free."
)
with ui.settings_container():
    with st.form("why_pre_form"):
        c1, c2, c3 = st.columns([2, 2, 2])
        pre_loss = c1.radio("Pre-training", list(LOSS_LABELS), format_func=LOSS_LABELS.get, key="why_pre_loss",
                            horizontal=True)
        fraction = float(c2.select_slider("Few labels", why.FRACTIONS, value=0.1, format_func=lambda f: f"{f:.0%}",
                                          key="why_pre_fraction",
                                          help="Share of the training labels kept, the same share of every digit."))
        pre_views = bool(c3.checkbox("CE trains on the views too", value=True, key="why_pre_ce_views",
                                     help="As the SupCon paper's CE baseline: the same augmentations for both."))
        c4, c5, c6 = st.columns(3)
        shared = common(c4, c5, c6, "why_pre")
        pre_go = st.form_submit_button("Train", type="primary", key="why_pre_train")
ui.state.sync(PAGE)
pre_run = run_section("why_pre", pre_go,
                      lambda: why.PretrainConfig(loss=pre_loss, fraction=fraction, ce_views=pre_views, **shared),
                      "pretraining", "Contrastive pre-training against CE")
if pre_run is None:
    st.info("Press **Train** to pre-train, probe and compare with CE at both label budgets (about 5 s).")
else:
    cfg = pre_run.config
    name = "SupCon" if cfg.loss == "supcon" else "SimCLR"
    groups = [f"{cfg.fraction:.0%} of the labels ({pre_run.n_labels[0]})", f"all labels ({pre_run.n_labels[1]})"]
    cols = st.columns(2)
    for col, group, ce, pre in zip(cols, groups, pre_run.ce, pre_run.pretrained, strict=True):
        col.metric(f"{name} → linear probe, {group}", f"{pre:.3f}", delta=f"{pre - ce:+.3f} vs CE ({ce:.3f})")
    bars = {f"CE{' on the views' if cfg.ce_views else ''}": pre_run.ce, f"{name} → linear probe": pre_run.pretrained,
            "untrained encoder → linear probe": pre_run.untrained}
    ui.chart(viz_why.bars_figure(groups, bars, colours=dict(zip(bars, (C["ce"], C[cfg.loss], C["untrained"]),
                                                                strict=True))), "why_pre_bars")
    st.caption(f"Test accuracy on {why.Common.n_test} test images. The axis starts at "
               f"{max(0.0, float(min(pre_run.ce.min(), pre_run.pretrained.min(), pre_run.untrained.min())) - 0.1):.2f}, "
               "not 0: the differences are a few hundredths.")
    st.markdown(
        "**What to look for.** With SupCon (the default), the probe on the pre-trained encoder beats CE on the views "
        "at both budgets (seeds 0-2: by 0.01-0.04): the seminar's claim, in miniature, and the comparison of the SupCon "
        "paper, which gives both losses the same augmentations. SimCLR, which never sees a label, lands within about "
        "0.03 of CE, above or below depending on the seed. Untick *CE trains on the views too*: plain CE fits faster in "
        "20 epochs and passes SupCon with all labels (about 0.99 against 0.985), while SupCon keeps a small lead with "
        "10 % of them. The grey bars show how much of any probe's score the untrained encoder already gives."
    )

with st.expander("Sources, and what they measured", expanded=False):
    st.markdown(
        "- **Khosla et al., *Supervised Contrastive Learning*, NeurIPS 2020.** SupCon beats CE on ImageNet (81.4 % top-1 "
        "with ResNet-200, 0.8 above the best number reported for that architecture), is more robust to natural "
        "corruptions and more stable to hyperparameters, and outperforms CE significantly with reduced data. Its "
        "introduction names CE's lack of robustness to noisy labels as a motivation; the paper does not itself measure "
        "label noise.\n"
        "- **Chen et al., *A Simple Framework for Contrastive Learning of Visual Representations* (SimCLR), ICML 2020.** "
        "A linear classifier on SimCLR features: 76.5 % top-1 on ImageNet (ResNet-50 4×), matching a supervised "
        "ResNet-50; fine-tuned on 1 % of the labels: 85.8 % top-5.\n"
        "- **Ghosh & Lan, *Contrastive Learning Improves Model Robustness Under Label Noise*, CVPR Workshops 2021.** "
        "Initialising classifiers with contrastive (SimCLR) representations markedly improves accuracy under label "
        "noise, even for plain CE.\n"
        "- **Xue, Whitecross & Mirzasoleiman, *Investigating Why Contrastive Learning Benefits Robustness Against Label "
        "Noise*, ICML 2022.** Why a linear layer on contrastive features learns the clean labels without fitting the "
        "noise.\n"
        "- **Arpit et al., *A Closer Look at Memorization in Deep Networks*, ICML 2017**; **Zhang et al., *Understanding "
        "Deep Learning Requires Rethinking Generalization*, ICLR 2017**: networks learn simple patterns first and can "
        "memorise even random labels.\n"
        "- **Gunel et al., *Supervised Contrastive Learning for Pre-trained Language Model Fine-tuning*, ICLR 2021**: "
        "CE + λ·SupCon. **Hendrycks et al., *Using Self-Supervised Learning Can Improve Model Robustness and "
        "Uncertainty*, NeurIPS 2019**: an auxiliary self-supervised loss helps under label corruption.\n"
        "- The papers' numbers above are from their abstracts. This page's numbers are ours, on 8×8 digits with a "
        "small CNN; `bench/results/why.md` records the default runs over several seeds."
    )
