"""No identifying data gets in; visitor codes become keyed pseudonyms."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsp_eval.errors import DataError, ParameterError
from qsp_eval.io import load_source
from qsp_eval.privacy import (
    MASK,
    detect_identifier,
    identifier_column_kind,
    is_free_text_column,
    pseudonymise,
    resolve_key,
    resolve_key_with_origin,
    safe_value,
)
from qsp_eval.validation import build_dataset

KEY = b"0123456789abcdef-test-key"
TODAY = date(2025, 1, 1)


def S(**cols):
    return pd.DataFrame({k: list(v) for k, v in cols.items()}, dtype=object)


SESS = S(date=["17/05/2023", "24/05/2023"])


def refused(raw, evaluation=None):
    with pytest.raises(DataError) as ei:
        build_dataset(raw, evaluation, key=KEY, today=TODAY)
    return ei.value


def assert_not_echoed(exc: DataError, secret: str):
    for text in (exc.format("fr"), exc.format("en"), str(exc), repr(exc.problems)):
        assert secret not in text


# ---------------------------------------------------------------------------
# by column name
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("column,kind", [
    ("nom", "name"), ("Prénom", "name"), ("NOM_DE_FAMILLE", "name"), ("first name", "name"),
    ("Surname", "name"), ("e-mail", "email"), ("Courriel", "email"), ("mail", "email"),
    ("Téléphone", "phone"), ("tel", "phone"), ("Portable", "phone"), ("phone number", "phone"),
    ("Adresse", "address"), ("address", "address"), ("code postal", "address"),
    ("date de naissance", "birth_date"), ("DDN", "birth_date"), ("dob", "birth_date"),
    ("date_of_birth", "birth_date"), ("NIR", "nir"), ("n° sécu", "nir"),
    ("numéro de sécurité sociale", "nir"), ("SSN", "nir"),
])
def test_identifier_column_names(column, kind):
    assert identifier_column_kind(column) == kind


@pytest.mark.parametrize("column", ["date", "visitor_code", "session_id", "gender", "theme",
                                    "theme_category", "attendance", "new_visitors", "heard_via",
                                    "products", "question", "answer", "response_id", "survey",
                                    "month", "item", "quantity", "service", "count", "site"])
def test_contract_columns_are_not_identifiers(column):
    assert identifier_column_kind(column) is None
    assert not is_free_text_column(column)


def test_identifier_column_refused_value_never_echoed():
    raw = {"sessions": SESS,
           "visits": S(date=["17/05/2023"], Prénom=["Camille"], gender=["Agenre"])}
    exc = refused(raw)
    p = exc.problems[0]
    assert p.column == "Prénom" and p.file == "visits.csv" and p.value is None
    assert "identifiantes" in p.message_fr and "nom ou prénom" in p.message_fr
    assert_not_echoed(exc, "Camille")


# ---------------------------------------------------------------------------
# by content
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("value,kind", [
    ("camille.dupont@example.org", "email"),
    ("écrire à x_y+z@asso-qsp.fr svp", "email"),
    ("06 12 34 56 78", "phone"), ("06.12.34.56.78", "phone"), ("06-12-34-56-78", "phone"),
    ("0612345678", "phone"), ("+33 6 12 34 56 78", "phone"), ("+33612345678", "phone"),
    ("0033 6 12 34 56 78", "phone"), ("+33 (0)6 12 34 56 78", "phone"),
    ("+44 20 7946 0958", "phone"), ("+1 415 555 2671", "phone"),
    ("1 85 05 78 006 084 36", "nir"), ("185057800608436", "nir"), ("2850578006084", "nir"),
    ("2 85 05 2A 006 084", "nir"),
    ("12 rue des Lilas", "address"), ("3 bis avenue Jean Jaurès", "address"),
    ("45, boulevard Voltaire", "address"), ("75011 Paris", "address"),
    ("13001 Marseille", "address"),
    ("14/07/1989", "birth_date"), ("1990-02-03", "birth_date"), ("né le 3.2.1975", "birth_date"),
])
def test_detect_identifier_content(value, kind):
    assert detect_identifier(value, today=TODAY) == kind
    assert safe_value(value, today=TODAY) == MASK


@pytest.mark.parametrize("value", [
    "17/05/2023", "2023-05-17", "2023-05-17 00:00:00", "45063", "2023-05", "05/2023", "12", "0",
    "234", "1200", "AB12", "V0001", "2023-05-17_Lyon", "S1", "Femme trans", "Non-binaire",
    "18-24 ans", "55 ans et plus", "TROD VIH", "Échantillon envoyé au réseau SINTES",
    "Cathinones (3-MMC, 4-MMC...)", "Carnet de roule-ta-paille", "Seringue 1-2 mL",
    "Soirée trans", "Thème : chemsex et santé mentale", "cocaine;ketamine", "satisfaction_2023",
    "felt_listened", "very_satisfied", "5 places disponibles", "2 kits",
    "Permanence du 14/02/2024", "oui", "Non renseigné", "12345", "2024-01-10",
])
def test_no_false_positive_on_contract_values(value):
    assert detect_identifier(value, today=TODAY) is None


@pytest.mark.parametrize("value", [
    # free text typed in a coded column: a name or a health status no pattern can detect
    "Je suis Camille Durand", "venu avec son copain Karim", "séropo depuis 2019, sous PrEP",
])
def test_sentences_are_not_echoed(value):
    assert safe_value(value, today=TODAY) == MASK


@pytest.mark.parametrize("value", [
    # short values and labels of a vocabulary (even of four words or more) stay readable
    "Femme tran", "Homme cis", "55 ans et plus", "Cathinones (3-MMC, 4-MMC...)",
    "Professionnel·le de santé", "Crack / free base",
])
def test_short_values_and_labels_are_echoed(value):
    assert safe_value(value, today=TODAY) == value


# Postal addresses: number (+ bis/ter) + singular street type + a name.
@pytest.mark.parametrize("value", [
    "12 rue des Lilas", "3 bis avenue Jean Jaurès", "7 passage Brady", "75011 Paris",
    "12 route de Lyon", "3 place de la République", "10 place du 8 Mai 1945",
    "12 cours Lafayette", "5 chemin du Moulin", "2 rue d'Alsace", "12b rue Oberkampf",
    "8 av. Foch", "habite au 4 impasse des roses", "12 RUE DES LILAS", "1 villa Saint-Michel",
    "3 ter, quai de Valmy", "221B Baker Street", "10 Downing St",
    "vu au 7 passage Brady hier",
])
def test_postal_addresses_detected(value):
    assert detect_identifier(value, today=TODAY) == "address"


@pytest.mark.parametrize("value", [
    # ordinary report prose about visits, sessions, courses (no street name follows)
    "5 passages", "1 passage", "12 passages", "1 passage en moyenne", "1 passage par semaine",
    "En 2023, 234 passages sur 43 permanences", "12 cours", "3 cours de sophrologie",
    "1 cours de yoga", "3 cours d'auto-support", "2 routes de distribution",
    "1 route de distribution", "1 place libre", "1 voie d'abord", "1 chemin de soin",
    "12 cours. Les séances reprennent", "1 passage\nLes personnes reviennent",
    "Nombre moyen de passages : 5,4 ; 1 passage au minimum",
    "Soirée trans : 8 passages, 2 cours de réduction des risques",
])
def test_report_prose_is_not_an_address(value):
    assert detect_identifier(value, today=TODAY) is None


def test_address_rule_is_linear_on_cells_full_of_blanks():
    # the former pattern (three adjacent optional blank runs) backtracked cubically:
    # 800 spaces took ~30 s; a 2,000-blank cell must now be instant
    import time

    t0 = time.perf_counter()
    assert detect_identifier("1" + " " * 2000 + "x", today=TODAY) is None
    assert detect_identifier("12" + " \t" * 1000 + "rue des Lilas", today=TODAY) == "address"
    assert time.perf_counter() - t0 < 2


def test_session_dates_never_trigger_birth_date():
    # the session-date column is checked with dates=False; old dates there are a "before
    # launch" problem (value shown only when it cannot be an adult's birth date)
    assert detect_identifier("14/07/1989", dates=False) is None
    raw = {"sessions": S(date=["14/07/1989"])}
    exc = refused(raw, {"launch_date": "2021-11-03"})
    assert exc.problems[0].value == MASK
    assert_not_echoed(exc, "1989")


@pytest.mark.parametrize("column,value", [
    ("theme", "appeler le 06 12 34 56 78"), ("gender", "camille@example.org"),
    ("visitor_code", "0612345678"), ("site", "12 rue des Lilas"),
    ("extra", "185057800608436"), ("orientation", "14/07/1989"),
])
def test_identifying_content_refused_and_masked(column, value):
    table = "sessions" if column in ("theme", "site") else "visits"
    raw = {"sessions": SESS}
    if table == "sessions":
        raw["sessions"] = S(date=["17/05/2023"], **{column: [value]})
    else:
        raw["visits"] = S(date=["17/05/2023"], **{column: [value]})
    exc = refused(raw)
    p = [q for q in exc.problems if q.column == column][0]
    assert p.row == 2 and p.value == MASK
    assert "identifiant" in p.message_fr
    assert_not_echoed(exc, value)


def test_survey_answer_with_phone_refused_but_free_text_dropped():
    surveys = {"s": {"questions": {"comment": {"type": "free_text"},
                                   "ok": {"type": "yes_no"}}}}
    raw = {"sessions": SESS,
           "survey_responses": S(survey=["s", "s"], response_id=["1", "1"],
                                 question=["comment", "ok"],
                                 answer=["Très bon accueil, merci", "oui"])}
    ds = build_dataset(raw, {"surveys": surveys}, key=KEY, today=TODAY)
    answers = list(ds.survey_responses["answer"])
    assert answers == ["<free_text>", "oui"]
    assert any("texte libre" in n for n in ds.notices)
    assert "accueil" not in repr(ds) and all("accueil" not in n for n in ds.notices)
    # identifiers are refused wherever they are, free-text answers included (issue 16)
    raw["survey_responses"]["answer"] = ["Rappelez-moi au 06 12 34 56 78", "oui"]
    with pytest.raises(DataError) as ei:
        build_dataset(raw, {"surveys": surveys}, key=KEY, today=TODAY)
    assert ei.value.problems[0].row == 2 and "06 12" not in ei.value.format("fr")


def test_free_text_columns_dropped_with_count_only():
    raw = {"sessions": S(date=["17/05/2023", "24/05/2023"],
                         Remarques=["Camille était là, très en forme", ""]),
           "visits": S(date=["17/05/2023"], commentaire=["RAS"])}
    ds = build_dataset(raw, None, key=KEY, today=TODAY)
    assert "Remarques" not in ds.sessions.columns
    notes = [n for n in ds.notices if "texte libre" in n]
    assert len(notes) == 2
    assert any("1 cellule(s)" in n for n in notes)
    text = " ".join(ds.notices) + " ".join(n.format("en") for n in ds.notices)
    assert "Camille" not in text and "RAS" not in text
    # a phone number in a free-text column is refused, not silently dropped (issue 16)
    raw["sessions"]["Remarques"] = ["Camille était là, tel 06 12 34 56 78", ""]
    with pytest.raises(DataError) as ei:
        build_dataset(raw, None, key=KEY, today=TODAY)
    p = ei.value.problems[0]
    assert (p.row, p.column) == (2, "Remarques") and "06 12" not in ei.value.format("fr")


# ---------------------------------------------------------------------------
# pseudonymisation
# ---------------------------------------------------------------------------
def test_pseudonymise_is_keyed_hmac_sha256():
    codes = pd.Series(["AB12", "CD34", " ab12 ", None, ""])
    p1 = pseudonymise(codes, KEY)
    # expected value computed independently with the standard library
    want = hmac.new(KEY, b"AB12", hashlib.sha256).hexdigest()[:16]
    assert p1[0] == want and p1[2] == want
    assert p1[1] != p1[0]
    assert pd.isna(p1[3]) and pd.isna(p1[4])
    p2 = pseudonymise(codes, b"another-key-0123456789")
    assert p2[0] != p1[0] and p2[1] != p1[1]
    # a plain SHA-256 of the code (reversible by trying every code) is not what is stored
    assert p1[0] != hashlib.sha256(b"AB12").hexdigest()[:16]


def test_same_code_same_key_same_person_across_loads():
    raw = {"sessions": SESS, "visits": S(date=["17/05/2023", "24/05/2023"],
                                         visitor_code=["ZX81", "ZX81"])}
    a = build_dataset(raw, None, key=KEY, today=TODAY)
    b = build_dataset(raw, None, key=KEY, today=TODAY)
    c = build_dataset(raw, None, key=b"other-key-other-key", today=TODAY)
    assert a.visits["person_id"].tolist() == b.visits["person_id"].tolist()
    assert a.visits["person_id"].nunique() == 1
    assert set(a.visits["person_id"]).isdisjoint(set(c.visits["person_id"]))


def _everything(ds) -> str:
    parts = [repr(ds), str(ds.notices), str(ds.supplied), ds.source, ds.checksum, repr(ds.config)]
    for name in ("sessions", "visits", "services", "distributions", "survey_responses"):
        df = getattr(ds, name)
        parts.append(df.to_csv())
        parts.append(repr(df.attrs))
        parts.append(df.to_string())
    return "\n".join(parts)


def test_raw_visitor_code_nowhere_after_loading(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "sessions.csv").write_text("date\n17/05/2023\n24/05/2023\n", encoding="utf-8")
    (src / "visits.csv").write_text(
        "date;visitor_code;gender\n17/05/2023;QWERTY42;Agenre\n24/05/2023;QWERTY42;Agenre\n"
        "24/05/2023;ZZTOP77;Femme cis\n", encoding="utf-8")
    ds = load_source(src, key=KEY, today=TODAY)
    blob = _everything(ds)
    for code in ("QWERTY42", "ZZTOP77", "qwerty42"):
        assert code not in blob
    assert "visitor_code" not in ds.visits.columns
    assert ds.visits["person_id"].nunique() == 2


# ---------------------------------------------------------------------------
# key handling
# ---------------------------------------------------------------------------
def test_resolve_key_env_file_random(tmp_path, monkeypatch):
    monkeypatch.delenv("QSP_PSEUDONYM_KEY", raising=False)
    k1, origin = resolve_key_with_origin()
    k2, _ = resolve_key_with_origin()
    assert origin == "random" and k1 != k2 and len(k1) >= 16
    monkeypatch.setenv("QSP_PSEUDONYM_KEY", "une-cle-secrete-assez-longue")
    assert resolve_key() == b"une-cle-secrete-assez-longue"
    data = tmp_path / "data"
    data.mkdir()
    kf = tmp_path / "cle.txt"
    kf.write_text("cle-dans-un-fichier-hors-donnees\n")
    assert resolve_key_with_origin(key_file=kf, data_path=data) == (
        b"cle-dans-un-fichier-hors-donnees", "file")


def test_key_file_inside_data_folder_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    kf = data / "cle.txt"
    kf.write_text("cle-dans-le-dossier-des-donnees")
    with pytest.raises(ParameterError) as ei:
        resolve_key(key_file=kf, data_path=data)
    assert "dossier des données" in ei.value.format("fr")
    assert "retrouver les codes" in ei.value.format("fr")
    # a workbook's folder counts as the data folder
    book = data / "saisie.xlsx"
    book.write_bytes(b"")
    with pytest.raises(ParameterError):
        resolve_key(key_file=kf, data_path=book)


def test_short_or_missing_key_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("QSP_PSEUDONYM_KEY", "court")
    with pytest.raises(ParameterError):
        resolve_key()
    with pytest.raises(ParameterError):
        resolve_key(key_file=tmp_path / "absent.txt")


def test_random_key_said_in_notices(tmp_path, monkeypatch):
    monkeypatch.delenv("QSP_PSEUDONYM_KEY", raising=False)
    src = tmp_path / "src"
    src.mkdir()
    (src / "sessions.csv").write_text("date\n17/05/2023\n")
    (src / "visits.csv").write_text("date,visitor_code\n17/05/2023,AB12\n")
    ds = load_source(src, today=TODAY)
    assert any("hasard" in n for n in ds.notices)


# ---------------------------------------------------------------------------
# property-based
# ---------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(code=st.text(min_size=1, max_size=12).filter(lambda s: s.strip()),
       key=st.binary(min_size=16, max_size=40))
def test_pseudonyms_are_16_hex_deterministic_and_case_blind(code, key):
    p = pseudonymise(pd.Series([code, "  " + code.upper() + " "]), key)
    assert len(p[0]) == 16 and all(ch in "0123456789abcdef" for ch in p[0])
    assert p[0] == pseudonymise(pd.Series([code]), key)[0]
    if code.upper().lower() == code.lower():  # case-folding round-trips (not e.g. "ß")
        assert p[0] == pseudonymise(pd.Series([code.lower()]), key)[0]
    assert p[0] != pseudonymise(pd.Series([code]), key + b"x")[0]


@settings(max_examples=300, deadline=None)
@given(d=st.dates(date(2008, 1, 1), date(2030, 12, 31)), n=st.integers(0, 10**9),
       fmt=st.sampled_from(["%d/%m/%Y", "%Y-%m-%d", "%d/%m/%y", "%Y-%m", "%m/%Y",
                            "%Y-%m-%d 00:00:00"]))
def test_session_dates_and_counts_never_flagged(d, n, fmt):
    assert detect_identifier(d.strftime(fmt), today=TODAY) is None
    assert detect_identifier(str(n), today=TODAY) is None
    assert detect_identifier(d.strftime(fmt), dates=False, today=TODAY) is None


@settings(max_examples=200, deadline=None)
@given(d=st.dates(date(1900, 1, 1), date(1990, 1, 1)))
def test_old_dates_in_text_columns_flagged_but_not_in_date_columns(d):
    assert detect_identifier(d.strftime("%d/%m/%Y"), today=TODAY) == "birth_date"
    assert detect_identifier(d.strftime("%d/%m/%Y"), dates=False, today=TODAY) is None


@pytest.mark.parametrize("code", ["Camille", "Jean Dupont", "Camille D.", "Marie-Claire"])
def test_visitor_codes_that_look_like_names_refused(code):
    raw = {"sessions": SESS, "visits": S(date=["17/05/2023"], visitor_code=[code])}
    exc = refused(raw)
    assert exc.problems[0].column == "visitor_code" and exc.problems[0].value == MASK
    assert "nom ou prénom" in exc.problems[0].message_fr
    assert_not_echoed(exc, code)


@pytest.mark.parametrize("code", ["AB12", "V0001", "ab-12", "QSP-2023-017", "X7", "CAM12"])
def test_pseudonymous_visitor_codes_accepted(code):
    raw = {"sessions": SESS, "visits": S(date=["17/05/2023"], visitor_code=[code])}
    assert len(build_dataset(raw, None, key=KEY, today=TODAY).visits) == 1


def test_phone_in_session_date_column_is_refused_not_echoed():
    exc = refused({"sessions": S(date=["06 12 34 56 78"])})
    assert exc.problems[0].value == MASK and "identifiant" in exc.problems[0].message_fr
    assert_not_echoed(exc, "06 12 34 56 78")


def test_scrub_message():
    from qsp_eval.privacy import scrub_message

    # 16 lowercase hex characters: the shape of a pseudonym (first 16 hex of HMAC-SHA256)
    assert scrub_message("None of [Index(['a1b2c3d4e5f60718'])] are in the [columns]") == (
        f"None of [Index(['{MASK}'])] are in the [columns]")
    # longer or shorter hex runs (checksums, colours) are not pseudonyms
    assert scrub_message("sha abcdefabcdefabcdefab") == "sha abcdefabcdefabcdefab"
    assert scrub_message("tel 06 12 34 56 78") == MASK
    assert scrub_message("x" * 500).endswith("…") and len(scrub_message("x" * 500)) == 300
    assert scrub_message(None) == ""
