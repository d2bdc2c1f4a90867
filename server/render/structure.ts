/**
 * The tagged-PDF structure tree: what each drawn thing is, in reading order, for screen
 * readers, reflow and PDF/A-2a / PDF/UA-1.
 *
 * The block renderer opens an element per block (`begin` / `end`, a stack: a paragraph
 * inside a list body inside a list item inside a list ...); everything drawn while an
 * element is on top becomes marked content of it. Text reaches the page only through
 * TextEngine.drawLine, which asks `text()` before each fragment, so a caller never marks
 * text itself; it only says whose text it is. Decoration (rules, bars, backgrounds, table
 * borders, underlines) is marked an artifact by `decoration()` before it is drawn, and
 * `within(PAGINATION, ...)` makes the footer one. Every page therefore has no unmarked
 * content.
 *
 * A marked-content sequence stays open while consecutive drawing belongs to the same
 * element, so a paragraph on a page is one BDC/EMC pair, not one per line: the cost of
 * tagging is a few operators per block and page, and one structure element per block or
 * table cell, written out by pdfkit as soon as the element ends.
 */
import type PDFDocument from 'pdfkit';

type Doc = InstanceType<typeof PDFDocument>;
type Element = PDFKit.PDFStructureElement;

/** The standard structure types we use (ISO 32000-1, 14.8.4), so no RoleMap is needed. */
export type Role =
  | 'Document'
  | 'H1'
  | 'H2'
  | 'H3'
  | 'H4'
  | 'H5'
  | 'H6'
  | 'P'
  | 'L'
  | 'LI'
  | 'Lbl'
  | 'LBody'
  | 'Table'
  | 'THead'
  | 'TBody'
  | 'TR'
  | 'TH'
  | 'TD'
  | 'Code'
  | 'BlockQuote'
  | 'Link';

/** A structure element we created, open until ended. */
export interface Tag {
  readonly kind: 'element';
  readonly role: Role;
  readonly element: Element;
  /** Set by finish(); pdfkit also ends an element's descendants with it (see isEnded). */
  ended: boolean;
  readonly parent: Tag | undefined;
}

/** An artifact of one type (ISO 32000-1, 14.8.2.2): drawn, but not part of the content. */
export interface ArtifactTag {
  readonly kind: 'artifact';
  readonly type: 'Pagination' | 'Layout';
}

export type Target = Tag | ArtifactTag;

/** Footers and page numbers. */
export const PAGINATION: ArtifactTag = { kind: 'artifact', type: 'Pagination' };
/** Rules, bars, backgrounds, borders, and table headers repeated on continuation pages. */
export const LAYOUT: ArtifactTag = { kind: 'artifact', type: 'Layout' };

export interface TagOptions {
  /** Alternate text (a link's URL). */
  alt?: string;
  /** A header cell's scope. */
  scope?: 'Column' | 'Row' | 'Both';
}

export class Structure {
  private readonly stack: Target[] = [];
  /** Whose marked-content sequence is open on the current page, if any. */
  private marked: Target | undefined;
  /** The Link element whose text is being drawn, while consecutive fragments share its URL. */
  private link: { url: string; tag: Tag; parent: Tag } | undefined;
  /** The level of the last heading tagged: the document title is an H1. */
  private headingLevel = 0;

  constructor(private readonly doc: Doc) {
    const root = doc.struct('Document');
    doc.addStructure(root);
    this.stack.push({ kind: 'element', role: 'Document', element: root, ended: false, parent: undefined });
  }

  /** What is drawn next belongs to the current element (or artifact). */
  current(): Target {
    return this.stack[this.stack.length - 1]!;
  }

  /** Opens a child of the current element and makes it current until `end()`. */
  begin(role: Role, options?: TagOptions): Tag {
    const tag = this.child(role, options);
    this.stack.push(tag);
    return tag;
  }

  /** Ends the element `begin` opened last. */
  end(): void {
    const top = this.stack.pop();
    if (top?.kind === 'element') this.finish(top);
  }

  /**
   * A child of the current element that does not become current (table cells, list
   * labels: drawn later or piecewise, through `within`). The caller ends it with `finish`.
   */
  child(role: Role, options?: TagOptions): Tag {
    const parent = this.current();
    if (parent.kind !== 'element') throw new Error(`a ${role} element cannot be opened inside an artifact`);
    // pdfkit's option types lack `scope`, which its PDFStructureElement does read.
    const element = this.doc.struct(role, options as PDFKit.Mixins.StructureElementOptions | undefined);
    parent.element.add(element);
    return { kind: 'element', role, element, ended: false, parent };
  }

  finish(tag: Tag): void {
    if (tag.ended) return;
    if (this.link?.parent === tag || this.link?.tag === tag) this.closeLink();
    if (this.marked === tag) this.endMarked();
    tag.element.end();
    tag.ended = true;
  }

  /** Runs `draw` with `target` current. An element already ended gets its drawing as an artifact. */
  within(target: Target, draw: () => void): void {
    this.stack.push(target.kind === 'element' && isEnded(target) ? LAYOUT : target);
    try {
      draw();
    } finally {
      this.stack.pop();
    }
  }

  /** The role of a heading of `level`: as written, but never more than one level below the heading before it. */
  heading(level: number): Role {
    const tagged = Math.max(1, Math.min(level, this.headingLevel + 1, 6));
    this.headingLevel = tagged;
    return `H${tagged}` as Role;
  }

  /** Before text is drawn: marks it as the current element's content, or as a Link inside it. */
  text(url: string | undefined): void {
    const target = this.current();
    if (url === undefined || target.kind !== 'element') {
      this.mark(target);
      return;
    }
    if (this.link?.url !== url || this.link.parent !== target || this.marked !== this.link.tag) {
      this.closeLink();
      const element = this.doc.struct('Link', { alt: url });
      target.element.add(element);
      this.link = { url, tag: { kind: 'element', role: 'Link', element, ended: false, parent: target }, parent: target };
    }
    this.mark(this.link.tag);
  }

  /**
   * Options for the link annotation over text just drawn by `text(url)`: its struct
   * parent is the Link element (an OBJR in its /K), and its /Contents the URL (PDF/UA-1
   * 7.18.5: a link's alternate description).
   */
  annotation(url: string): PDFKit.Mixins.AnnotationOption {
    // A String object: pdfkit writes it as a PDF text string, a primitive string as a name.
    // pdfkit's option types name neither it nor `structParent`, both of which annotate() reads.
    const options: { Contents: String; structParent?: Element } = { Contents: new String(url) };
    const link = this.link;
    if (link && link.url === url && this.marked === link.tag) options.structParent = link.tag.element;
    return options as unknown as PDFKit.Mixins.AnnotationOption;
  }

  /** Before drawing decoration: rules, bars, backgrounds, borders, underlines. */
  decoration(): void {
    this.mark(this.current().kind === 'artifact' ? this.current() : LAYOUT);
  }

  /** Closes the open marked-content sequence: before a page ends, and before switching pages. */
  endMarked(): void {
    if (this.marked === undefined) return;
    this.doc.endMarkedContent();
    this.marked = undefined;
  }

  private mark(target: Target): void {
    if (this.marked === target) return;
    if (this.link && target !== this.link.tag) this.closeLink();
    this.endMarked();
    if (target.kind === 'artifact') {
      this.doc.markContent('Artifact', { type: target.type });
    } else {
      target.element.add(this.doc.markStructureContent(target.role));
    }
    this.marked = target;
  }

  private closeLink(): void {
    const link = this.link;
    if (!link) return;
    this.link = undefined;
    if (this.marked === link.tag) this.endMarked();
    link.tag.element.end();
    link.tag.ended = true;
  }
}

function isEnded(tag: Tag): boolean {
  for (let t: Tag | undefined = tag; t; t = t.parent) if (t.ended) return true;
  return false;
}
