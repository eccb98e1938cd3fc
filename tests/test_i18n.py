# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Spanish completeness: every translatable string of the addon has a Spanish entry.

The terms are exported with Odoo's own machinery (``TranslationModuleReader``, what
``odoo-bin --i18n-export`` uses): model and field names, selection values, help texts, views,
menus, data records, ``_()`` strings of the Python code, e-mail templates... and compared with
``i18n/es.po``: each must be there with a non-empty, non-fuzzy ``msgstr``.

To fix a failure: regenerate ``i18n/sale_amazon_connector.pot`` (``odoo-bin -d DB
--i18n-export=i18n/sale_amazon_connector.pot --modules=sale_amazon_connector``), merge it into
``i18n/es.po`` (``msgmerge``) and translate the new entries with Odoo's own Spanish words.
"""

import os

import polib

from odoo.modules.module import get_module_path
from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import TranslationModuleReader

MODULE = "sale_amazon_connector"


@tagged("post_install", "-at_install")
class TestSpanish(TransactionCase):
    def _po(self, lang):
        path = os.path.join(get_module_path(MODULE), "i18n", f"{lang}.po")
        self.assertTrue(os.path.isfile(path), f"{path} is missing")
        return polib.pofile(path)

    def _exported_terms(self):
        reader = TranslationModuleReader(self.env.cr, modules=[MODULE])
        terms = {}
        for module, ttype, name, _res_id, source, _value, _comments in reader:
            if module == MODULE and source and source.strip():
                terms.setdefault(source, f"{ttype}:{name}")
        return terms

    def test_every_string_has_a_spanish_translation(self):
        terms = self._exported_terms()
        self.assertGreater(len(terms), 100, "the export found the addon's strings")
        po = self._po("es")
        translated = {
            entry.msgid
            for entry in po
            if not entry.obsolete and entry.msgstr.strip() and "fuzzy" not in entry.flags
        }
        missing = sorted(source for source in terms if source not in translated)
        self.assertFalse(
            missing,
            "%d of %d strings have no Spanish translation in i18n/es.po, e.g.:\n%s"
            % (
                len(missing),
                len(terms),
                "\n".join(f"  {terms[s]}: {s[:100]!r}" for s in missing[:25]),
            ),
        )

    def test_spanish_file_is_clean(self):
        po = self._po("es")
        fuzzy = [entry.msgid[:80] for entry in po if "fuzzy" in entry.flags]
        empty = [entry.msgid[:80] for entry in po if entry.msgid and not entry.msgstr.strip()]
        self.assertFalse(fuzzy, f"fuzzy entries in i18n/es.po: {fuzzy[:10]}")
        self.assertFalse(empty, f"untranslated entries in i18n/es.po: {empty[:10]}")
        self.assertEqual(po.metadata.get("Language"), "es")
