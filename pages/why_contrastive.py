"""Why contrastive features help (the seminar's slide "The effect of contrastive learning"): label noise,
CE + λ·contrastive, and contrastive pre-training against supervised training."""

try:
    from pages import _i18n as i18n_ui
    from pages import _jobs as jobs
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/why_contrastive.py, AppTest)
    import _i18n as i18n_ui
    import _jobs as jobs
    import _ui as ui

ui.ensure_app_shell()

from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from adlab import i18n, viz_why
from adlab.device import pick_device
from adlab.lessons import why_contrastive as why

PAGE = "why"  # the prefix of this page's keys (settings in the link, results in the session)
URL_PATH = Path(__file__).stem  # app.py's name for the page: its jobs are cancelled when the user leaves it
ui.begin(PAGE)
lang = i18n_ui.lang()


def t(key: str, /, **fields: Any) -> str:
    """The text ``key`` in this run's language (bound here, so that a widget's format_func says it in the
    same language whenever it is called)."""
    return i18n.text_or_english(key, lang, **fields)


C = viz_why.METHOD_COLOURS
NAMES = {"supcon": "SupCon", "simclr": "SimCLR"}  # the losses' names, the same in every language


def loss_label(loss: str) -> str:
    return t(f"lessons.why.loss.{loss}")


def readout_label(readout: str) -> str:
    return t(f"lessons.why.readout.{readout}")


st.title(t("lessons.why.title"))
st.markdown(t("lessons.why.intro"))
with st.expander(t("lessons.why.setup_title"), expanded=False):
    st.markdown(t("lessons.why.setup", n_train=1797 - why.Common.n_test, n_test=why.Common.n_test))


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
    done = jobs.run_job(slot, job, page=URL_PATH, title=t("lessons.why.running", label=label),
                        summary=lambda r: t("lessons.why.done", seconds=r.seconds, device=r.config.device))
    if done is not None:
        st.session_state[f"{slot}_results"] = done.result
    return st.session_state.get(f"{slot}_results")


def common(c_epochs, c_flip, c_seed, slot: str) -> dict[str, Any]:
    """The epochs, mirror and seed widgets every form has, in the given columns."""
    return dict(epochs=int(c_epochs.number_input(t("lessons.epochs"), 1, 60, why.Common.epochs, key=f"{slot}_epochs")),
                seed=int(c_seed.number_input(t("lessons.seed"), 0, 10_000, 0, key=f"{slot}_seed",
                                             help=t("lessons.why.seed_help"))),
                flip=bool(c_flip.checkbox(t("lessons.why.flip"), value=False, key=f"{slot}_flip",
                                          help=t("lessons.why.flip_help"))),
                device=pick_device(ui.device()).type)


# ----------------------------------------------------------------------------- (1) label noise
st.header(t("lessons.why.noise.header"))
st.markdown(t("lessons.why.noise.intro"))
with ui.settings_container():
    with st.form("why_noise_form"):
        c1, c2, c3 = st.columns([2, 2, 1])
        noise = float(c1.slider(t("lessons.why.noise.level"), 0.0, 0.8, 0.4, 0.05, key="why_noise_level",
                                help=t("lessons.why.noise.level_help")))
        readout = c2.radio(t("lessons.why.noise.readout"), ["knn", "ridge"], format_func=readout_label,
                           key="why_noise_readout", horizontal=True)
        k = int(c3.number_input(t("lessons.why.noise.k"), 1, 50, 10, key="why_noise_k"))
        c4, c5, c6, c7 = st.columns([1, 2, 2, 1])
        shared = common(c4, c6, c7, "why_noise")
        ce_views = bool(c5.checkbox(t("lessons.why.ce_views"), value=False, key="why_noise_ce_views",
                                    help=t("lessons.why.noise.ce_views_help")))
        noise_go = st.form_submit_button(t("lessons.train"), type="primary", key="why_noise_train")
ui.state.sync(PAGE)
noise_run = run_section("why_noise", noise_go,
                        lambda: why.NoiseConfig(noise=noise, readout=readout, k=k, ce_views=ce_views, **shared),
                        "label_noise", t("lessons.why.noise.job"))
if noise_run is None:
    st.info(t("lessons.why.noise.info"))
else:
    cfg = noise_run.config
    best = int(noise_run.ce.argmax())
    read = readout_label(cfg.readout)
    how = t("lessons.why.noise.how_knn", readout=read, k=cfg.k) if cfg.readout == "knn" else read
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(t("lessons.why.noise.best"), f"{noise_run.ce[best]:.3f}", help=t("lessons.why.noise.best_help", epoch=best))
    m2.metric(t("lessons.why.noise.last"), f"{noise_run.ce[-1]:.3f}",
              delta=t("lessons.why.noise.vs_best", delta=noise_run.ce[-1] - noise_run.ce[best]))
    for col, name in ((m3, "supcon"), (m4, "simclr")):
        value = getattr(noise_run, name)[-1]
        col.metric(t("lessons.why.noise.readout_metric", name=NAMES[name], readout=read), f"{value:.3f}",
                   delta=t("lessons.why.noise.vs_ce", delta=value - noise_run.ce[-1]))
    memorised = t("lessons.why.noise.memorised")
    curves = {"CE": noise_run.ce, t("lessons.why.noise.curve", name="SupCon", how=how): noise_run.supcon,
              t("lessons.why.noise.curve", name="SimCLR", how=how): noise_run.simclr, memorised: noise_run.memorised}
    colours = dict(zip(curves, (C["ce"], C["supcon"], C["simclr"], C["memorised"]), strict=True))
    ui.chart(viz_why.accuracy_curves_figure(noise_run.epochs, curves, colours=colours, dashed=[memorised],
                                            y_title=t("lessons.why.noise.y_title"), lang=lang,
                                            title=t("lessons.why.noise.chart_title", flipped=noise_run.n_flipped,
                                                    total=noise_run.n_train)),
             "why_noise_curves")
    last = len(noise_run.ce) - 1
    path = (t("lessons.why.noise.path_peak", peak=noise_run.ce[best], epoch=best, last=noise_run.ce[-1]) if best < last
            else t("lessons.why.noise.path_end", last=noise_run.ce[-1]))
    learnt = (t("lessons.why.noise.learnt", share=noise_run.memorised[-1]) if noise_run.n_flipped
              else t("lessons.why.noise.none_flipped"))
    st.caption(t("lessons.why.noise.caption", n_test=noise_run.n_test, path=path, learnt=learnt,
                 supcon=noise_run.supcon[-1], simclr=noise_run.simclr[-1]))
    st.markdown(t("lessons.why.noise.honest", start=noise_run.supcon[0],
                  supcon_gain=noise_run.supcon[-1] - noise_run.supcon[0],
                  simclr_gain=noise_run.simclr[-1] - noise_run.simclr[0]))

# ----------------------------------------------------------------------------- (2) CE + lambda * contrastive
st.header(t("lessons.why.mix.header"))
st.latex(r"\mathcal L = \mathrm{CE}\bigl(c(f(x)),\,\tilde y\bigr) \;+\; \lambda\,"
         r"\mathcal L_{\text{con}}\bigl(g(f(v_1)),\,g(f(v_2))\bigr)")
st.markdown(t("lessons.why.mix.notes"))
with ui.settings_container():
    with st.form("why_mix_form"):
        c1, c2, c3 = st.columns([2, 2, 2])
        lam = float(c1.slider("λ", 0.0, 5.0, 2.0, 0.5, key="why_mix_lam", help=t("lessons.why.mix.lam_help")))
        loss = c2.radio(t("lessons.why.mix.loss"), ["supcon", "simclr"], index=1, format_func=loss_label,
                        key="why_mix_loss", horizontal=True)
        mix_noise = float(c3.slider(t("lessons.why.noise.level"), 0.0, 0.8, 0.4, 0.05, key="why_mix_noise"))
        c4, c5, c6 = st.columns(3)
        shared = common(c4, c5, c6, "why_mix")
        mix_go = st.form_submit_button(t("lessons.train"), type="primary", key="why_mix_train")
ui.state.sync(PAGE)
mix_run = run_section("why_mix", mix_go, lambda: why.MixConfig(lam=lam, loss=loss, noise=mix_noise, **shared),
                      "mixed_loss", t("lessons.why.mix.job"))
if mix_run is None:
    st.info(t("lessons.why.mix.info"))
else:
    cfg = mix_run.config
    term = f"CE + {cfg.lam:g}·{NAMES[cfg.loss]}"
    alone = t("lessons.why.mix.ce_alone")
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(t("lessons.why.mix.accuracy", name=alone), f"{mix_run.accuracy_ce:.3f}")
    m2.metric(t("lessons.why.mix.accuracy", name=term), f"{mix_run.accuracy_mix:.3f}",
              delta=t("lessons.why.mix.vs_alone", delta=mix_run.accuracy_mix - mix_run.accuracy_ce))
    m3.metric(t("lessons.why.mix.knn", name=alone), f"{mix_run.knn_ce:.3f}")
    m4.metric(t("lessons.why.mix.knn", name=term), f"{mix_run.knn_mix:.3f}", delta=f"{mix_run.knn_mix - mix_run.knn_ce:+.3f}")
    ui.chart(viz_why.accuracy_curves_figure(mix_run.epochs, {alone: mix_run.curve_ce, term: mix_run.curve_mix},
                                            colours={alone: C["ce"], term: C["mix"]}, height=360, lang=lang,
                                            title=t("lessons.why.mix.chart_title", noise=cfg.noise)),
             "why_mix_curves")
    ui.chart(viz_why.class_maps_figure({alone: mix_run.map_ce, term: mix_run.map_mix}, mix_run.y_test, lang=lang),
             "why_mix_maps")
    st.caption(t("lessons.why.mix.caption", n=len(mix_run.y_test), k=cfg.k, name=NAMES[cfg.loss],
                 pull=t(f"lessons.why.mix.pull_{cfg.loss}")))

# ----------------------------------------------------------------------------- (3) pre-training
st.header(t("lessons.why.pre.header"))
st.markdown(t("lessons.why.pre.intro"))
with ui.settings_container():
    with st.form("why_pre_form"):
        c1, c2, c3 = st.columns([2, 2, 2])
        pre_loss = c1.radio(t("lessons.why.pre.loss"), ["supcon", "simclr"], format_func=loss_label, key="why_pre_loss",
                            horizontal=True)
        fraction = float(c2.select_slider(t("lessons.why.pre.fraction"), why.FRACTIONS, value=0.1,
                                          format_func=lambda f: f"{f:.0%}", key="why_pre_fraction",
                                          help=t("lessons.why.pre.fraction_help")))
        pre_views = bool(c3.checkbox(t("lessons.why.ce_views"), value=True, key="why_pre_ce_views",
                                     help=t("lessons.why.pre.ce_views_help")))
        c4, c5, c6 = st.columns(3)
        shared = common(c4, c5, c6, "why_pre")
        pre_go = st.form_submit_button(t("lessons.train"), type="primary", key="why_pre_train")
ui.state.sync(PAGE)
pre_run = run_section("why_pre", pre_go,
                      lambda: why.PretrainConfig(loss=pre_loss, fraction=fraction, ce_views=pre_views, **shared),
                      "pretraining", t("lessons.why.pre.job"))
if pre_run is None:
    st.info(t("lessons.why.pre.info"))
else:
    cfg = pre_run.config
    name = NAMES[cfg.loss]
    groups = [t("lessons.why.pre.few", fraction=cfg.fraction, n=pre_run.n_labels[0]),
              t("lessons.why.pre.all", n=pre_run.n_labels[1])]
    cols = st.columns(2)
    for col, group, ce, pre in zip(cols, groups, pre_run.ce, pre_run.pretrained, strict=True):
        col.metric(t("lessons.why.pre.metric", name=name, group=group), f"{pre:.3f}",
                   delta=t("lessons.why.pre.vs_ce", delta=pre - ce, ce=ce))
    bars = {t("lessons.why.pre.ce_on_views" if cfg.ce_views else "lessons.why.pre.ce"): pre_run.ce,
            t("lessons.why.pre.probe", name=name): pre_run.pretrained,
            t("lessons.why.pre.untrained"): pre_run.untrained}
    ui.chart(viz_why.bars_figure(groups, bars, colours=dict(zip(bars, (C["ce"], C[cfg.loss], C["untrained"]),
                                                                strict=True)), lang=lang), "why_pre_bars")
    lowest = float(min(pre_run.ce.min(), pre_run.pretrained.min(), pre_run.untrained.min()))
    st.caption(t("lessons.why.pre.caption", n_test=why.Common.n_test, start=max(0.0, lowest - 0.1)))
    st.markdown(t("lessons.why.pre.look"))

with st.expander(t("lessons.why.sources.title"), expanded=False):
    st.markdown(t("lessons.why.sources.body"))
