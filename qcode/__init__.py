"""qcode: terminal-first qualitative coding of interview transcripts.

The core is importable without the CLI::

    from qcode import Project
    project = Project.find()          # walks up from the current folder
    project.import_paths(["interviews/"])
"""

__version__ = "0.1.0"

from qcode.errors import QcodeError  # noqa: E402


def __getattr__(name):  # lazy, so `import qcode` stays cheap
    if name == "Project":
        from qcode.project import Project

        return Project
    raise AttributeError(name)


__all__ = ["Project", "QcodeError", "__version__"]
