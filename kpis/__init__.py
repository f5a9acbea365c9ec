"""The ministry's KPIs: the catalogue the operator edits (:mod:`kpis.catalogue`, file
``config/kpis.yaml``) and their computation from the stored series (:mod:`kpis.compute`)."""
