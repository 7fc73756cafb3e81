"""adlab: contrastive learning for anomaly detection, one page per idea.

Run with ``streamlit run app.py``. The pages follow the seminar's order: what a contrast is,
distances, class discrimination (triplet, N-pair, SupCon), instance discrimination (SimCLR).
"""

import streamlit as st

from adlab.device import available_devices, describe_device, pick_device
from adlab.projection import warm_up

st.set_page_config(page_title="adlab: contrastive anomaly detection", page_icon="🧭", layout="wide")


@st.cache_resource(show_spinner=False)
def _warm_projection():
    """Compile umap's numba kernels once per server, in a background thread, off the first click."""
    return warm_up(background=True)


_warm_projection()

PAGES = {
    "Start": [st.Page("pages/home.py", title="Home", icon="🏠", default=True)],
    "Contrastive learning": [
        st.Page("pages/distances.py", title="Distance axioms", icon="📏"),
        st.Page("pages/triplet.py", title="Triplet loss", icon="🔺"),
        st.Page("pages/npair.py", title="N-pair loss", icon="🔗"),
        st.Page("pages/supcon.py", title="SupCon", icon="🏷️"),
        st.Page("pages/simclr.py", title="SimCLR / NT-Xent", icon="🔄"),
    ],
}

with st.sidebar:
    choices = ["auto", *available_devices()]
    st.selectbox(
        "Device",
        choices,
        key="device",
        help="auto takes CUDA, then Apple MPS, then the CPU. Every page trains on this device.",
    )
    st.caption(f"Computing on **{describe_device(pick_device(st.session_state['device']))}**")

st.navigation(PAGES).run()
