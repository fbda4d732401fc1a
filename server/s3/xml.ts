/**
 * The little XML the S3 API needs: documents built from nested plain values, and a strict parser
 * for the two request bodies clients send (DeleteObjects' <Delete>, CompleteMultipartUpload's
 * <CompleteMultipartUpload>). The parser knows elements, text, the five predefined entities and
 * numeric character references; it refuses DOCTYPE/entity declarations (no entity expansion
 * attacks), bodies over a size limit, and anything malformed (MalformedXML).
 */
import { S3Error, xmlEscape } from './errors.js';

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** An element's children: text, nested elements, or lists (repeated elements of one name). */
export type XmlValue = string | number | boolean | null | undefined | XmlNode | XmlNode[] | string[];
export interface XmlNode {
  [name: string]: XmlValue;
}

function render(name: string, v: XmlValue): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) {
    let out = '';
    for (const x of v as Array<XmlNode | string>) out += render(name, x);
    return out;
  }
  if (typeof v === 'object') {
    let out = `<${name}>`;
    for (const k in v) out += render(k, v[k]);
    return out + `</${name}>`;
  }
  return `<${name}>${xmlEscape(typeof v === 'string' ? v : String(v))}</${name}>`;
}

/** A whole document: `<?xml ...?><Root xmlns="...">...</Root>`. */
export function xmlDocument(root: string, body: XmlNode): string {
  const inner = Object.entries(body)
    .map(([k, c]) => render(k, c))
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${NS}">${inner}</${root}>`;
}

/** A parsed element: its name, text (concatenated), and child elements in order. */
export interface XmlElement {
  name: string;
  text: string;
  children: XmlElement[];
}

const malformed = (why: string): S3Error =>
  new S3Error(400, 'MalformedXML', `The XML you provided was not well-formed or did not validate against our published schema (${why})`);

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_m, e: string) => {
    if (e === 'amp') return '&';
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    if (!Number.isFinite(cp) || cp > 0x10ffff || cp === 0) throw malformed('bad character reference');
    return String.fromCodePoint(cp);
  });
}

/** Parse a small XML document into its root element. */
export function parseXml(src: string): XmlElement {
  let i = 0;
  const n = src.length;
  const skipMisc = (): void => {
    for (;;) {
      while (i < n && /\s/.test(src[i]!)) i++;
      if (src.startsWith('<?', i)) {
        const e = src.indexOf('?>', i);
        if (e < 0) throw malformed('unterminated declaration');
        i = e + 2;
      } else if (src.startsWith('<!--', i)) {
        const e = src.indexOf('-->', i);
        if (e < 0) throw malformed('unterminated comment');
        i = e + 3;
      } else if (src.startsWith('<!', i)) {
        throw malformed('DOCTYPE and entity declarations are not accepted');
      } else return;
    }
  };
  const parseElement = (depth: number): XmlElement => {
    if (depth > 16) throw malformed('nested too deeply');
    if (src[i] !== '<') throw malformed(`expected an element at offset ${i}`);
    const m = /^<([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/.exec(src.slice(i, i + 4096));
    if (!m) throw malformed(`bad start tag at offset ${i}`);
    const full = m[1]!;
    const name = full.includes(':') ? full.slice(full.indexOf(':') + 1) : full;
    i += m[0].length;
    const el: XmlElement = { name, text: '', children: [] };
    if (m[3] === '/') return el;
    for (;;) {
      const lt = src.indexOf('<', i);
      if (lt < 0) throw malformed(`unterminated element ${full}`);
      el.text += decodeEntities(src.slice(i, lt));
      i = lt;
      if (src.startsWith('</', i)) {
        const close = /^<\/([A-Za-z_][\w.:-]*)\s*>/.exec(src.slice(i, i + 512));
        if (!close || close[1] !== full) throw malformed(`mismatched end tag for ${full}`);
        i += close[0].length;
        return el;
      }
      if (src.startsWith('<!--', i)) {
        const e = src.indexOf('-->', i);
        if (e < 0) throw malformed('unterminated comment');
        i = e + 3;
        continue;
      }
      if (src.startsWith('<![CDATA[', i)) {
        const e = src.indexOf(']]>', i);
        if (e < 0) throw malformed('unterminated CDATA');
        el.text += src.slice(i + 9, e);
        i = e + 3;
        continue;
      }
      if (src.startsWith('<!', i) || src.startsWith('<?', i)) throw malformed('declarations are not accepted inside elements');
      el.children.push(parseElement(depth + 1));
    }
  };
  skipMisc();
  const root = parseElement(0);
  skipMisc();
  if (i !== n) throw malformed('text after the root element');
  return root;
}

/** The text of the first child named `name`, or undefined. */
export function childText(el: XmlElement, name: string): string | undefined {
  return el.children.find((c) => c.name === name)?.text;
}
