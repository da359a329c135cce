"""sacrebleu, as evaluate's canonical metric computes it: corpus BLEU from the sacrebleu package,
each prediction against one or more references. Baked into evaluate's module cache by
builders/evaluate_metrics.py, so `evaluate.load("sacrebleu")` works offline."""

import datasets
import evaluate
import sacrebleu as scb


class Sacrebleu(evaluate.Metric):
    def _info(self):
        text = datasets.Value("string", id="sequence")
        return evaluate.MetricInfo(
            description=__doc__,
            citation="",
            inputs_description="predictions: strings; references: a list of reference strings per prediction",
            features=[
                datasets.Features(
                    {"predictions": text, "references": datasets.Sequence(text, id="references")}
                ),
                datasets.Features({"predictions": text, "references": text}),
            ],
            reference_urls=["https://github.com/mjpost/sacreBLEU"],
        )

    def _compute(
        self,
        predictions,
        references,
        smooth_method="exp",
        smooth_value=None,
        force=False,
        lowercase=False,
        tokenize=None,
        use_effective_order=False,
    ):
        if isinstance(references[0], str):
            references = [[ref] for ref in references]
        per_prediction = len(references[0])
        if any(len(refs) != per_prediction for refs in references):
            raise ValueError("Sacrebleu requires the same number of references for each prediction")
        streams = [[refs[i] for refs in references] for i in range(per_prediction)]
        output = scb.corpus_bleu(
            predictions,
            streams,
            smooth_method=smooth_method,
            smooth_value=smooth_value,
            force=force,
            lowercase=lowercase,
            use_effective_order=use_effective_order,
            **({"tokenize": tokenize} if tokenize else {}),
        )
        return {
            "score": output.score,
            "counts": output.counts,
            "totals": output.totals,
            "precisions": output.precisions,
            "bp": output.bp,
            "sys_len": output.sys_len,
            "ref_len": output.ref_len,
        }
