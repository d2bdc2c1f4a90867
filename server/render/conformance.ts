/**
 * What an export claims to conform to, and the XMP metadata that says so: PDF/A-2 (ISO
 * 19005-2) for archives, PDF/UA-1 (ISO 14289-1) for accessibility.
 *
 * pdfkit's `subset: 'PDF/A-2a'` adds the sRGB output intent and the pdfaid entries at
 * doc.end(). Its own XMP is not enough for a validator: it has no xmp:ModifyDate for the
 * info dictionary's ModDate (PDF/A-2 6.6.3 wants the two to agree), writes the title
 * without XML escaping, and has no place for the PDF/UA identifier, which in a PDF/A-2
 * file also needs an extension schema (pdfuaid is not one of PDF/A's predefined schemas).
 * So the document's `_addInfo` (pdfkit's XMP writer, called by endMetadata) is ours.
 *
 * The claims depend on what the render produced, so they are settled once it is done:
 * - a character that no bundled font covers is drawn as .notdef, which PDF/A-2 (6.2.11.8)
 *   and PDF/UA-1 (7.21.8) both forbid: such an export claims neither;
 * - without a document language (locale `und`) the text's language cannot be told, which
 *   level a and PDF/UA require: level b, no PDF/UA;
 * - otherwise PDF/A-2a (tagged, structure.ts) and PDF/UA-1.
 *
 * Nothing here depends on the clock or on chance: the dates are the export time, the
 * packet id is XMP's fixed one, and there is no random document id, so a job re-rendered
 * gives the same bytes.
 */
import type PDFDocument from 'pdfkit';

type Doc = InstanceType<typeof PDFDocument>;

/** The PDF/A part every export is made for; pdfkit's `subset` option. */
export const PDFA_SUBSET = 'PDF/A-2a';

export interface Conformance {
  /** PDF/A-2 conformance level, or undefined when the file claims no PDF/A conformance. */
  pdfa: 'A' | 'B' | undefined;
  /** Whether the file claims PDF/UA-1. */
  pdfua: boolean;
}

/** The claims an export may make, given its language (undefined: none) and whether any character was drawn as .notdef. */
export function conformanceOf(lang: string | undefined, hasMissingGlyphs: boolean): Conformance {
  if (hasMissingGlyphs) return { pdfa: undefined, pdfua: false };
  if (lang === undefined) return { pdfa: 'B', pdfua: false };
  return { pdfa: 'A', pdfua: true };
}

export interface DocumentFacts {
  title: string;
  createdAt: Date;
  lang: string | undefined;
  producer: string;
}

/** pdfkit internals this module relies on (pdfkit 0.20: mixins/subsets, mixins/metadata). */
interface SubsetInternals {
  subset?: number;
  subset_conformance?: string;
  info: Record<string, unknown>;
  _addInfo?: () => void;
  appendXML(xml: string, newline?: boolean): void;
}

/**
 * Settles the claims on a document made with `subset: PDFA_SUBSET`, before doc.end():
 * the PDF/A level (or none, with no output intent), and the XMP written in its place.
 */
export function declareConformance(doc: Doc, facts: DocumentFacts, conformance: Conformance): void {
  const internals = doc as unknown as SubsetInternals;
  if (internals.subset !== 2 || typeof internals._addInfo !== 'function') {
    throw new Error('pdfkit no longer keeps its PDF/A subset where conformance.ts expects it');
  }
  if (conformance.pdfa === undefined) {
    // endSubset (pdfaid and output intent) runs only for a truthy subset.
    internals.subset = 0;
  } else {
    internals.subset_conformance = conformance.pdfa;
  }
  // The info dictionary's Title must say what dc:title says; XML cannot hold some characters a title may.
  const title = xmlSafe(facts.title);
  internals.info['Title'] = title;
  internals._addInfo = () => internals.appendXML(xmp({ ...facts, title }, conformance.pdfua));
}

function xmp(facts: DocumentFacts, pdfua: boolean): string {
  const date = facts.createdAt.toISOString().split('.')[0] + 'Z';
  const parts = [
    `<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">`,
    `<xmp:CreateDate>${date}</xmp:CreateDate>`,
    `<xmp:ModifyDate>${date}</xmp:ModifyDate>`,
    `<xmp:CreatorTool>${escapeXml(facts.producer)}</xmp:CreatorTool>`,
    `</rdf:Description>`,
    `<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">`,
    `<dc:format>application/pdf</dc:format>`,
    `<dc:title><rdf:Alt><rdf:li xml:lang="x-default">${escapeXml(facts.title)}</rdf:li></rdf:Alt></dc:title>`,
    ...(facts.lang === undefined ? [] : [`<dc:language><rdf:Bag><rdf:li>${escapeXml(facts.lang)}</rdf:li></rdf:Bag></dc:language>`]),
    `</rdf:Description>`,
    `<rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">`,
    `<pdf:Producer>${escapeXml(facts.producer)}</pdf:Producer>`,
    `</rdf:Description>`,
  ];
  if (pdfua) parts.push(PDFUA_IDENTIFICATION, PDFUA_EXTENSION_SCHEMA);
  return parts.join('\n');
}

const PDFUA_IDENTIFICATION = `<rdf:Description rdf:about="" xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/">
<pdfuaid:part>1</pdfuaid:part>
</rdf:Description>`;

// PDF/A-2 6.6.2.3: a property outside the predefined schemas is declared in an extension schema.
const PDFUA_EXTENSION_SCHEMA = `<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">
<pdfaSchema:schema>PDF/UA Universal Accessibility Schema</pdfaSchema:schema>
<pdfaSchema:namespaceURI>http://www.aiim.org/pdfua/ns/id/</pdfaSchema:namespaceURI>
<pdfaSchema:prefix>pdfuaid</pdfaSchema:prefix>
<pdfaSchema:property><rdf:Seq><rdf:li rdf:parseType="Resource">
<pdfaProperty:name>part</pdfaProperty:name>
<pdfaProperty:valueType>Integer</pdfaProperty:valueType>
<pdfaProperty:category>internal</pdfaProperty:category>
<pdfaProperty:description>Indicates which part of ISO 14289 standard is followed</pdfaProperty:description>
</rdf:li></rdf:Seq></pdfaSchema:property>
</rdf:li></rdf:Bag></pdfaExtension:schemas>
</rdf:Description>`;

/** Characters XML 1.0 cannot hold even escaped (controls, lone surrogates, U+FFFE/U+FFFF) are dropped. */
export function xmlSafe(text: string): string {
  return text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '');
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
