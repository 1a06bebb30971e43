"""The catalogs of realistic student answers, by the notebook each one covers.

A notebook added to the course (hw4.course.NOTEBOOKS) with a catalog of its own is added here, once; the
similarity tests and benchmarks/grade_class.py read this mapping.
"""
import catalog_kl
import catalog_vae

CATALOGS = {"KL_derivation": catalog_kl, "VAE": catalog_vae}
