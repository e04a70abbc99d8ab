"""``newswire audit``: account for every raw record, by article id, after the fact.

The pure accounting is :mod:`newswire.audit.ledger` (on the types of
:mod:`~newswire.audit.model`); :mod:`~newswire.audit.readers` turns topics and sink
outputs into small observations; :mod:`~newswire.audit.report` renders the result;
:mod:`~newswire.audit.command` is the CLI glue.
"""
