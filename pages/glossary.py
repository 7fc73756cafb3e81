"""Glossary: the seminar's and the app's terms, Korean <-> English, with a one-line meaning each."""

try:
    from pages import _i18n as i18n_ui
    from pages import _ui as ui
except ImportError:  # the page file run on its own (AppTest)
    import _i18n as i18n_ui
    import _ui as ui

ui.ensure_app_shell()

import streamlit as st

from adlab import i18n

ui.begin("glossary")
t, lang = i18n_ui.translator(), i18n_ui.lang()
other = next(code for code in i18n.LANGUAGES if code != lang)

st.title(t("glossary.title"))
st.markdown(t("glossary.intro"))
query = st.text_input(t("glossary.filter"), key="glossary_filter", placeholder=t("glossary.filter_placeholder"),
                      help=t("glossary.filter_help"), live=True).strip()

say = i18n.text_or_english  # (key, language): the page's texts in both languages side by side
rows = [{say("language.name", lang): say(f"terms.{term}.name", lang),
         say("language.name", other): say(f"terms.{term}.name", other),
         t("glossary.meaning"): say(f"terms.{term}.meaning", lang)}
        for term in i18n.children("terms")]
shown = [row for row in rows if query.casefold() in " ".join(row.values()).casefold()]

st.caption(t("glossary.count", shown=len(shown), total=len(rows)))
if shown:
    st.table(shown, hide_index=True)
else:
    st.info(t("glossary.none", query=query), icon=":material/search_off:")
