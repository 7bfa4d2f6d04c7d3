"""The class on one machine (`make class`): a JupyterHub with an instructor and learners,
nbgrader's exchange on a directory they share, the learner view for learners and the
instructor view for the instructor.

    layout.py    where the class lives (.class/ by default) and who is in it
    accounts.py  the local system users a multi-user hub needs (prefix `svclab-`)
    setup.py     create and remove the class: users, homes, the exchange, nbgrader configs
    hubconfig.py JupyterHub's configuration for the class (classroom/jupyterhub_config.py)
    __main__.py  `python -m grader.classroom up|down|status`, what the Makefile runs

Each learner is a real system user so that nbgrader's exchange keeps learners apart with
file permissions (its inbound folder is write-only for learners, homes are private); a hub
that ran every learner as one user could not keep one learner out of another's work."""
