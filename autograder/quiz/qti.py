"""Canvas / QTI 1.2: export a bank as the zip Canvas imports (Settings > Import course content >
QTI .zip file): an IMS manifest and one assessment.

Pools become sections with a `selection_number`, which Canvas imports as question groups that pick
k at random. Canvas types: multiple_choice, multiple_answers, true_false, numerical, short_answer,
and matching (for ordering: item -> position). Explanations become item feedback.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile

from autograder.quiz.render import markdown_to_html
from autograder.quiz.variant import Item, Quiz

NS = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
MANIFEST_NS = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
CANVAS_TYPES = {
    "single": "multiple_choice_question",
    "multi": "multiple_answers_question",
    "truefalse": "true_false_question",
    "numeric": "numerical_question",
    "text": "short_answer_question",
    "ordering": "matching_question",
}


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    el.text = text
    return el


def _material(parent: ET.Element, text: str, html: bool = True) -> None:
    mat = _el(parent, "material")
    _el(
        mat,
        "mattext",
        markdown_to_html(text) if html else text,
        texttype="text/html" if html else "text/plain",
    )


def _metadata(parent: ET.Element, fields: dict[str, str]) -> None:
    meta = _el(parent, "qtimetadata")
    for label, entry in fields.items():
        field = _el(meta, "qtimetadatafield")
        _el(field, "fieldlabel", label)
        _el(field, "fieldentry", entry)


def _condition(
    proc: ET.Element, score: str, action: str = "Set", feedback: str | None = None, cont: str = "No"
) -> ET.Element:
    """A respcondition; the caller fills its conditionvar."""
    cond = _el(proc, "respcondition", **{"continue": cont})
    var = _el(cond, "conditionvar")
    if score:
        _el(cond, "setvar", score, action=action, varname="SCORE")
    if feedback:
        _el(cond, "displayfeedback", feedbacktype="Response", linkrefid=feedback)
    return var


def _choices(pres: ET.Element, ident: str, labels: list[tuple[str, str]], cardinality: str) -> None:
    lid = _el(pres, "response_lid", ident=ident, rcardinality=cardinality)
    render = _el(lid, "render_choice")
    for key, text in labels:
        _material(_el(render, "response_label", ident=key), text, html=False)


def item_xml(parent: ET.Element, item: Item, ident: str) -> None:
    q = item.question
    el = _el(parent, "item", ident=ident, title=ident)
    meta = _el(el, "itemmetadata")
    _metadata(
        meta,
        {
            "question_type": CANVAS_TYPES[item.kind],
            "points_possible": f"{item.points:g}",
            "original_answer_ids": ",".join(c.key for c in item.choices),
            "assessment_question_identifierref": ident,
            "difficulty": q.difficulty,
            "tags": ",".join(q.tags),
        },
    )
    pres = _el(el, "presentation")
    _material(pres, item.prompt)
    proc = _el(el, "resprocessing")
    outcomes = _el(proc, "outcomes")
    _el(outcomes, "decvar", maxvalue="100", minvalue="0", varname="SCORE", vartype="Decimal")
    if item.explain:
        _condition(proc, "", feedback="general_fb", cont="Yes").append(ET.Element("other"))
    match item.kind:
        case "single" | "multi":
            _choices(
                pres,
                "response1",
                [(c.key, c.text) for c in item.choices],
                "Single" if item.kind == "single" else "Multiple",
            )
            for c in item.choices:
                if c.explain:
                    _el(
                        _condition(proc, "", feedback=f"{c.key}_fb", cont="Yes"),
                        "varequal",
                        c.key,
                        respident="response1",
                    )
            var = _condition(proc, "100")
            both = _el(var, "and") if item.kind == "multi" else var
            for c in item.choices:
                if c.correct:
                    _el(both, "varequal", c.key, respident="response1")
                elif item.kind == "multi":
                    _el(_el(both, "not"), "varequal", c.key, respident="response1")
        case "truefalse":
            _choices(pres, "response1", [("true", "True"), ("false", "False")], "Single")
            _el(
                _condition(proc, "100"), "varequal", "true" if item.answer else "false", respident="response1"
            )
        case "numeric" | "text":
            fib = _el(
                _el(pres, "response_str", ident="response1", rcardinality="Single"),
                "render_fib",
                fibtype="Decimal" if item.kind == "numeric" else "String",
            )
            fib.set("rows", "1")
            var = _condition(proc, "100")
            if item.kind == "numeric":
                bounds = _el(_el(var, "or"), "and")
                _el(bounds, "vargte", f"{item.answer - item.tolerance:.15g}", respident="response1")
                _el(bounds, "varlte", f"{item.answer + item.tolerance:.15g}", respident="response1")
            else:
                for accepted in item.answer:
                    _el(var, "varequal", accepted, respident="response1", case="No")
        case "ordering":
            positions = [(f"p{i}", str(i)) for i in range(1, len(item.choices) + 1)]
            for pos, key in enumerate(item.answer, start=1):
                text = next(c.text for c in item.choices if c.key == key)
                lid = _el(pres, "response_lid", ident=f"response_{key}")
                _material(lid, text, html=False)
                render = _el(lid, "render_choice")
                for ident_, label in positions:
                    _material(_el(render, "response_label", ident=ident_), label, html=False)
                _el(
                    _condition(proc, f"{100 / len(item.choices):.4f}", action="Add"),
                    "varequal",
                    f"p{pos}",
                    respident=f"response_{key}",
                )
    feedback = [("general_fb", item.explain)] + [
        (f"{c.key}_fb", c.explain) for c in item.choices if item.kind in ("single", "multi") and c.explain
    ]
    for fid, text in feedback:
        if text:
            _material(_el(_el(el, "itemfeedback", ident=fid), "flow_mat"), text)


def assessment_xml(quiz: Quiz, instances: int = 1) -> bytes:
    ident = f"{quiz.course_id}-{quiz.module}"
    root = ET.Element("questestinterop", xmlns=NS)
    test = _el(root, "assessment", ident=ident, title=quiz.bank.quiz.title)
    _metadata(test, {"cc_maxattempts": "1"})
    top = _el(test, "section", ident="root_section")
    for group in quiz.groups(instances):
        section = top
        if group.pool:
            section = _el(top, "section", ident=f"pool-{group.pool}", title=group.pool)
            selection = _el(_el(section, "selection_ordering"), "selection")
            _el(selection, "selection_number", str(group.pick))
            _el(_el(selection, "selection_extension"), "points_per_item", f"{group.items[0].points:g}")
        for item in group.items:
            item_xml(section, item, f"{item.qid}-{item.number}" if item.question.templated else item.qid)
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def manifest_xml(ident: str, title: str) -> bytes:
    root = ET.Element("manifest", identifier=f"{ident}-manifest", xmlns=MANIFEST_NS)
    meta = _el(root, "metadata")
    _el(meta, "schema", "IMS Content")
    _el(meta, "schemaversion", "1.1.3")
    _el(root, "organizations")
    resource = _el(_el(root, "resources"), "resource", identifier=ident, type="imsqti_xmlv1p2", title=title)
    _el(resource, "file", href=f"{ident}/{ident}.xml")
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def export_qti_zip(quiz: Quiz, instances: int = 1) -> bytes:
    """The Canvas import package: imsmanifest.xml and <ident>/<ident>.xml, with fixed dates (reproducible)."""
    ident = f"{quiz.course_id}-{quiz.module}"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in (
            ("imsmanifest.xml", manifest_xml(ident, quiz.bank.quiz.title)),
            (f"{ident}/{ident}.xml", assessment_xml(quiz, instances)),
        ):
            zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()
