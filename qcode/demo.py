"""`qcode demo`: a project built from the sample corpus and the shipped codebook."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from qcode.project import Project
from qcode.resources import shipped

DEMO_CODEBOOK = "trust-empowerment-loyalty.yaml"
DEMO_ATTRIBUTES = "sample-attributes.csv"
DEMO_CODINGS = "sample-codings.csv"  # two interviews coded by hand (by us, for the demo)


@dataclass
class DemoResult:
    project: Project
    imported: list = field(default_factory=list)
    sync: object = None
    created: bool = False
    run: object = None
    accepted: int = 0
    coded: int = 0  # hand codings of the sample imported
    trained: object = None  # qcode.nlp.models.TrainResult
    report: Path | None = None
    spreadsheet: Path | None = None


def build_demo(directory: str | Path) -> DemoResult:
    """Create (or bring up to date) a demo project in *directory*. Re-running is safe:
    import and sync are idempotent."""
    from qcode.codebook.model import load_codebook
    from qcode.codebook.sync import sync
    from qcode.ingest.attributes import read_attribute_table
    from qcode.ingest.importer import ImportOptions, import_paths

    directory = Path(directory)
    created = not (directory / "qcode.yaml").exists()
    if created:
        project = Project.init(directory, name="qcode demo", codebook=DEMO_CODEBOOK,
                               coder="demo")
    else:
        project = Project.open(directory)
    if not project.codebook_path.exists():
        shutil.copyfile(shipped("codebooks") / DEMO_CODEBOOK, project.codebook_path)
    result = DemoResult(project, created=created)
    result.sync = sync(project.db, load_codebook(project.codebook_path),
                       coder=project.coder_name())
    options = ImportOptions(default_language=project.config.language,
                            table=read_attribute_table(shipped("corpora") / DEMO_ATTRIBUTES),
                            coder=project.coder_name())
    result.imported = import_paths(project.db, [shipped("corpora") / "sample"], options)
    # a coder has coded two interviews by hand; the model learns from them
    from qcode.coding import import_codings
    from qcode.nlp.models import train
    from qcode.nlp.run import SuggestOptions, run_suggestions

    result.coded = import_codings(project.db, shipped("corpora") / DEMO_CODINGS,
                                  default_coder="demo").added
    result.trained = train(project)
    result.run = run_suggestions(project, SuggestOptions(coder=project.coder_name()))
    # the demo coder accepts the surest suggestions, so the analysis has more to show
    from qcode.export.report import write_report
    from qcode.review import bulk

    result.accepted = len(bulk(project.db, coder=project.coder_name(), accept_above=0.8,
                               interviewer_names=project.config.suggest.interviewer_names
                               ).decided)
    result.report = write_report(project, force=True)
    from qcode.analysis.scope import Scope
    from qcode.export.excerpts import export_excerpts

    result.spreadsheet = export_excerpts(project.db, Scope(),
                                         project.exports_dir / "demo-excerpts.xlsx",
                                         force=True).path
    return result
