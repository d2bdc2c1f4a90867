/**
 * Reads a tagged PDF back with pdfjs: each page's structure tree (getStructTree), the text
 * of each marked-content sequence, the text drawn as artifacts or outside any marked
 * content, and the document's MarkInfo. Test-only helper for the tagging tests.
 */
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

export interface TagNode {
  role: string;
  alt?: string;
  children: TagChild[];
}
/** A marked-content sequence (`content`) or an annotation (`object`, pdfjs' OBJR) in an element. */
export type TagChild = TagNode | { type: 'content' | 'object' | 'annotation'; id: string };

export interface TaggedPage {
  /** The page's structure tree: the elements with content on this page, with their ancestors. */
  tree: TagNode;
  /** Text of each marked-content sequence with an MCID, by pdfjs' id for it. */
  contentText: Map<string, string>;
  /** Tag of each marked-content sequence with an MCID (the role it was marked with). */
  contentTag: Map<string, string>;
  /** Text drawn inside Artifact sequences, items joined by spaces. */
  artifactText: string[];
  /** Text drawn outside any marked content. */
  unmarkedText: string[];
  /** Ids of the page's link annotations (as pdfjs names them in the tree) and their URLs. */
  links: { id: string; url: string; contents: string }[];
}

export interface TaggedPdf {
  pages: TaggedPage[];
  markInfo: Record<string, unknown> | null;
}

interface MarkedItem {
  type?: string;
  tag?: string;
  id?: string | null;
  str?: string;
}

export async function readTags(bytes: Uint8Array): Promise<TaggedPdf> {
  const task = getDocument({ data: new Uint8Array(bytes), useSystemFonts: false, disableFontFace: true, isEvalSupported: false });
  const pdf = await task.promise;
  try {
    const pages: TaggedPage[] = [];
    for (let n = 1; n <= pdf.numPages; n++) {
      const page = await pdf.getPage(n);
      const tree = (await page.getStructTree()) as unknown as TagNode;
      const content = await page.getTextContent({ includeMarkedContent: true });
      const contentText = new Map<string, string>();
      const contentTag = new Map<string, string>();
      const artifactText: string[] = [];
      const unmarkedText: string[] = [];
      const open: { tag: string; id: string | undefined }[] = [];
      for (const item of content.items as MarkedItem[]) {
        if (item.type === 'beginMarkedContent' || item.type === 'beginMarkedContentProps') {
          open.push({ tag: item.tag ?? '', id: item.id ?? undefined });
          if (item.id) contentTag.set(item.id, item.tag ?? '');
          continue;
        }
        if (item.type === 'endMarkedContent') {
          open.pop();
          continue;
        }
        const str = item.str ?? '';
        if (!str.trim()) continue;
        const inner = open[open.length - 1];
        if (!inner) unmarkedText.push(str);
        else if (open.some((m) => m.tag === 'Artifact')) artifactText.push(str);
        else if (inner.id) contentText.set(inner.id, `${contentText.get(inner.id) ?? ''}${contentText.has(inner.id) ? ' ' : ''}${str}`);
        else unmarkedText.push(str);
      }
      const annotations = (await page.getAnnotations()) as Array<{ subtype?: string; id: string; url?: string; contentsObj?: { str: string } }>;
      const links = annotations
        .filter((a) => a.subtype === 'Link' && typeof a.url === 'string')
        .map((a) => ({ id: a.id, url: a.url!, contents: a.contentsObj?.str ?? '' }));
      pages.push({ tree, contentText, contentTag, artifactText, unmarkedText, links });
      page.cleanup();
    }
    const markInfo = (await pdf.getMarkInfo()) as Record<string, unknown> | null;
    return { pages, markInfo };
  } finally {
    await task.destroy();
  }
}

export const isNode = (child: TagChild): child is TagNode => 'role' in child;

/** The tree's roles only: a leaf element as its role, an element with element children as [role, ...children]. */
export function roles(node: TagNode): unknown {
  const children = node.children.filter(isNode).map(roles);
  return children.length ? [node.role, ...children] : node.role;
}

/** The page's text in structure order, each content sequence's text after the role that holds it. */
export function readingOrder(page: TaggedPage): { role: string; text: string }[] {
  const out: { role: string; text: string }[] = [];
  const walk = (node: TagNode) => {
    for (const child of node.children) {
      if (isNode(child)) walk(child);
      else if (child.type === 'content') out.push({ role: node.role, text: page.contentText.get(child.id) ?? '' });
    }
  };
  walk(page.tree);
  return out;
}

/** Every element of the tree with `role`, in tree order. */
export function elements(node: TagNode, role: string): TagNode[] {
  const out: TagNode[] = [];
  const walk = (n: TagNode) => {
    if (n.role === role) out.push(n);
    for (const child of n.children) if (isNode(child)) walk(child);
  };
  walk(node);
  return out;
}
