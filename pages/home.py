"""Home: the seminar's storyline and a map of the pages."""

try:
    from pages import _ui as ui
except ImportError:  # the page file run on its own (AppTest)
    import _ui as ui

ui.ensure_app_shell()

import streamlit as st

ui.begin("home")  # the link keeps the app-wide settings (presenter mode, device) on Home too

st.title("Contrastive learning for anomaly detection")
st.markdown(
    "A **contrast** is a clear difference that shows when two things are compared. "
    "*Contrastive learning* turns that into a training signal: we decide which samples should be "
    "**similar** and which **different**, and train an encoder so that distances in its feature "
    "space say so. A detector then only has to ask: *is this new point far from everything normal?*"
)

left, right = st.columns(2)
with left:
    st.subheader("1 · The three roles")
    st.markdown(
        "- **Anchor** $x$: the sample we look from.\n"
        "- **Positive** $x^+$: should land close to the anchor.\n"
        "- **Negative** $x^-$: should land far away.\n\n"
        "**Class discrimination** takes positives from the anchor's class and negatives from other "
        "classes (triplet, N-pair, SupCon). **Instance discrimination** needs no labels: two "
        "augmented views of one sample are positives, every other sample is a negative (SimCLR)."
    )
    st.subheader("2 · Why it helps")
    st.markdown(
        "Contrastive features are robust (cross-entropy alone is easily fooled by noisy labels), "
        "they combine with other losses (cross-entropy + triplet, GOAD; rotation + SimCLR, CSI), "
        "and they make a strong pre-training: with good augmentations they can beat supervised "
        "features."
    )
with right:
    st.subheader("3 · Why anomaly detection is hard")
    st.markdown(
        "- **Imbalance**: plenty of normal data, a handful of anomalies.\n"
        "- **No labels**: anomalies are rarely marked, often not at all.\n"
        "- **Diversity**: anomalies do not form one class; each can be odd in its own way.\n"
        "- **The unseen**: tomorrow's anomaly may look like nothing in the training set.\n\n"
        "So we learn what *normal* looks like and score how far a point is from it "
        "(in this app: **a higher score means more anomalous**)."
    )
    st.subheader("4 · The lesson to take home")
    st.markdown(
        "Define positives and negatives well and contrastive learning serves anomaly detection: "
        "**hard augmentations** (rotations, which change what an image *is*) make **negatives**; "
        "**soft augmentations** and other normal samples make **positives**. Data that is hard to "
        "augment (many tabular sets) is hard for these methods.\n\n"
        "*Careful with one word:* the seminar slide counts other normal samples as positives. That is "
        "class discrimination (SupCon with the normal class as one label). CSI itself, like SimCLR, treats "
        "every other sample as a **negative**, normal ones included: only another view of the same image "
        "is a positive (see the CSI page)."
    )

st.divider()
st.subheader("Map of the pages")
st.caption(
    "The five contrastive-learning pages (distances and the four losses) explain one idea each: move its knob on a fixed batch instantly, then train a "
    "small model live and see the feature space before and after. The anomaly-detection pages train "
    "each detector on one normal class and show its scores, ROC curve and its own inner workings."
)
cols = st.columns(3)
links = [
    ("pages/distances.py", "Distance axioms", "The four metric axioms, and where squared Euclidean, cosine and learned distances break them."),
    ("pages/triplet.py", "Triplet loss", "Anchor, one positive, one negative and a margin; easy, semi-hard and hard triplets."),
    ("pages/npair.py", "N-pair loss", "One positive against many negatives at once."),
    ("pages/supcon.py", "SupCon", "Many positives per anchor, chosen by class, with a temperature."),
    ("pages/simclr.py", "SimCLR / NT-Xent", "No labels: augmented views are the positives."),
    ("pages/deep_svdd.py", "Deep one-class (SVDD)", "Pull normal data to a centre; watch it collapse when the guards are off."),
    ("pages/goad.py", "GOAD", "Transformations become classes; a triplet loss to their centres."),
    ("pages/droc.py", "DROC", "Contrastive features with rotated copies as negatives, then a shallow one-class model."),
    ("pages/csi.py", "CSI", "Shifted (rotated) instances as negatives; the score split into its terms."),
    ("pages/compare.py", "Compare", "Every method and baseline on one split: AUROC, AUPRC, F1, time, ROC, UMAP."),
]
for i, (path, title, text) in enumerate(links):
    with cols[i % 3]:
        with st.container(border=True):
            st.page_link(path, label=f"**{title}**")
            st.caption(text)
