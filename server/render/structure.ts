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
 * element, so a paragraph on a page is one BDC/EMC pair, not one per line.
 *
 * The elements are ours, not pdfkit's PDFStructureElement: pdfkit keeps every element's
 * dictionary, and every page's parent-tree array, until the document ends, which at
 * 2,000 pages cost ~90 MB of peak memory and a fifth of the render time. Here an element
 * is written out as soon as it ends and keeps only its object number after that, and a
 * page's parent-tree array is written when the page is done; what stays to the end is
 * the top-level element list and one number-tree entry per page and per link.
 */
import type PDFDocument from 'pdfkit';

type Doc = InstanceType<typeof PDFDocument>;
type Ref = PDFKit.PDFKitReference;

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

export interface TagOptions {
  /** Alternate text (a link's URL). */
  alt?: string;
  /** A header cell's scope. */
  scope?: 'Column' | 'Row' | 'Both';
}

/** A marked-content reference to another page than the element's /Pg, or an annotation. */
type Kid = Tag | number | { Type: 'MCR'; Pg: Ref; MCID: number } | { Type: 'OBJR'; Obj: Ref; Pg: Ref };

/** A structure element: open while content is added, written out (and its kids let go) when it ends. */
export class Tag {
  readonly kind = 'element';
  ended = false;
  private kids: Kid[] = [];
  /** The page of its first content: its /Pg, against which MCIDs are plain numbers. */
  private page: Ref | undefined;

  constructor(
    readonly role: Role,
    readonly ref: Ref,
    private readonly parentRef: Ref,
    private options: TagOptions | undefined,
  ) {}

  addKid(kid: Kid): void {
    this.kids.push(kid);
  }

  addContent(page: Ref, mcid: number): void {
    this.page ??= page;
    this.kids.push(page === this.page ? mcid : { Type: 'MCR', Pg: page, MCID: mcid });
  }

  /** Writes the element; children still open (a label never drawn) are ended first, as a reader expects every kid to exist. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    const kids = this.kids.map((kid) => {
      if (kid instanceof Tag) {
        kid.end();
        return kid.ref;
      }
      return kid;
    });
    this.kids = [];
    if (this.options === undefined && writeElement(this.ref, this.role, this.parentRef, kids, this.page)) return;
    const data: Record<string, unknown> = { S: this.role, P: this.parentRef, K: kids };
    if (this.page) data['Pg'] = this.page;
    // A String object: pdfkit writes it as a PDF text string, a primitive string as a name.
    if (this.options?.alt !== undefined) data['Alt'] = new String(this.options.alt);
    if (this.options?.scope) data['A'] = { O: 'Table', Scope: this.options.scope };
    this.ref.data = data as Ref['data'];
    this.ref.end(undefined);
    // Written: only its object number is needed from now on (as a kid of its parent).
    this.ref.data = {} as Ref['data'];
    this.options = undefined;
  }
}

/** pdfkit's document internals for writing an object (pdfkit 0.20: PDFDocument._write, _offset, _refEnd). */
interface WriterInternals {
  _write(data: string): void;
  _offset: number;
  _refEnd(ref: Ref): void;
}

/**
 * Writes an element without options as pdfkit's ref.end() would, byte for byte, in one
 * write and without pdfkit's generic conversion: elements are most of a tagged export's
 * objects (one per block and table cell), and writing them was ~4% of a render. False
 * when pdfkit's internals are not as expected; the caller then lets pdfkit write it.
 */
function writeElement(ref: Ref, role: Role, parent: Ref, kids: unknown[], page: Ref | undefined): boolean {
  const doc = ref.document as unknown as Partial<WriterInternals>;
  if (typeof doc._write !== 'function' || typeof doc._refEnd !== 'function' || typeof doc._offset !== 'number') return false;
  let k = '';
  for (const kid of kids) {
    if (k) k += ' ';
    if (typeof kid === 'number') k += kid;
    else if (kid && typeof kid === 'object' && 'MCID' in kid) {
      const mcr = kid as { Pg: Ref; MCID: number };
      k += `<<\n/Type /MCR\n/Pg ${mcr.Pg}\n/MCID ${mcr.MCID}\n>>`;
    } else if (kid && typeof kid === 'object' && 'Obj' in kid) {
      const objr = kid as { Obj: Ref; Pg: Ref };
      k += `<<\n/Type /OBJR\n/Obj ${objr.Obj}\n/Pg ${objr.Pg}\n>>`;
    } else k += `${kid as Ref}`;
  }
  (ref as unknown as { offset: number }).offset = doc._offset;
  doc._write(`${ref.id} 0 obj\n<<\n/S /${role}\n/P ${parent}\n/K [${k}]${page ? `\n/Pg ${page}` : ''}\n>>\nendobj`);
  doc._refEnd(ref);
  return true;
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

/** pdfkit's structure tree root and its parent tree (a number tree), which pdfkit writes at doc.end(). */
interface StructTreeRoot {
  data: { K?: Ref[]; ParentTree: { add(key: number, value: Ref): void } };
}
interface PageInternals {
  dictionary: Ref & { data: { StructParents?: number } };
}

export class Structure {
  private readonly stack: Target[] = [];
  private readonly treeRoot: StructTreeRoot;
  /** Whose marked-content sequence is open on the current page, if any. */
  private marked: Target | undefined;
  /** The Link element whose text is being drawn, while consecutive fragments share its URL. */
  private link: { url: string; tag: Tag; parent: Tag } | undefined;
  /** The level of the last heading tagged: the document title is an H1. */
  private headingLevel = 0;
  /** The current page's parent-tree array (the element of each MCID) and its key. */
  private pageParents: Ref[] = [];
  private pageKey: number | undefined;

  constructor(private readonly doc: Doc) {
    // `tagged: true` made it, with MarkInfo.
    this.treeRoot = doc.getStructTreeRoot() as unknown as StructTreeRoot;
    const root = new Tag('Document', doc.ref({}), doc.getStructTreeRoot(), undefined);
    this.treeRoot.data.K = [root.ref];
    this.stack.push(root);
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
    const tag = new Tag(role, this.doc.ref({}), parent.ref, options);
    parent.addKid(tag);
    return tag;
  }

  finish(tag: Tag): void {
    if (tag.ended) return;
    if (this.link?.parent === tag) this.closeLink();
    if (this.marked === tag) this.endMarked();
    tag.end();
  }

  /** Runs `draw` with `target` current. An element already ended gets its drawing as an artifact. */
  within(target: Target, draw: () => void): void {
    this.stack.push(target.kind === 'element' && target.ended ? LAYOUT : target);
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
      const tag = new Tag('Link', this.doc.ref({}), target.ref, { alt: url });
      target.addKid(tag);
      this.link = { url, tag, parent: target };
    }
    this.mark(this.link.tag);
  }

  /**
   * Options for the link annotation over text just drawn by `text(url)`: its /Contents is
   * the URL (PDF/UA-1 7.18.5: a link's alternate description), and pdfkit's annotate()
   * hands the annotation to `structParent.add`, which puts it in the Link element (an
   * OBJR) and in the parent tree.
   */
  annotation(url: string): PDFKit.Mixins.AnnotationOption {
    const options: { Contents: String; structParent?: { add(annotation: { annotationRef: Ref }): void } } = { Contents: new String(url) };
    const link = this.link;
    if (link && link.url === url && this.marked === link.tag) {
      options.structParent = {
        add: ({ annotationRef }) => {
          const key = this.doc.createStructParentTreeNextKey();
          (annotationRef.data as Record<string, unknown>)['StructParent'] = key;
          this.treeRoot.data.ParentTree.add(key, link.tag.ref);
          link.tag.addKid({ Type: 'OBJR', Obj: annotationRef, Pg: this.doc.page.dictionary });
        },
      };
    }
    // pdfkit's option types name neither a String object nor `structParent`, both of which annotate() reads.
    return options as unknown as PDFKit.Mixins.AnnotationOption;
  }

  /** Before drawing decoration: rules, bars, backgrounds, borders, underlines. */
  decoration(): void {
    this.mark(this.current().kind === 'artifact' ? this.current() : LAYOUT);
  }

  /** Closes the open marked-content sequence (before switching to another page to draw). */
  endMarked(): void {
    if (this.marked === undefined) return;
    this.doc.endMarkedContent();
    this.marked = undefined;
  }

  /** The document is done: every element is written. Call before doc.end(). */
  close(): void {
    this.endPage();
    while (this.stack.length > 0) this.end();
  }

  /** The current page is done with content: closes its sequence and writes its parent-tree array. */
  endPage(): void {
    this.endMarked();
    if (this.pageKey === undefined) return;
    const parents = this.doc.ref(this.pageParents as unknown as object);
    parents.end(undefined);
    // Written: the tree needs only its object number, and holding the array would hold every element's reference to the end.
    parents.data = {} as Ref['data'];
    this.treeRoot.data.ParentTree.add(this.pageKey, parents);
    this.pageParents = [];
    this.pageKey = undefined;
  }

  private mark(target: Target): void {
    if (this.marked === target) return;
    if (this.link && target !== this.link.tag) this.closeLink();
    this.endMarked();
    if (target.kind === 'artifact') {
      this.markContent('Artifact', `<<\n/Type /${target.type}\n>>`, { type: target.type });
    } else {
      const page = this.doc.page as unknown as PageInternals;
      if (this.pageKey === undefined) {
        this.pageKey = this.doc.createStructParentTreeNextKey();
        page.dictionary.data.StructParents = this.pageKey;
      }
      const mcid = this.pageParents.length;
      this.pageParents.push(target.ref);
      this.markContent(target.role, `<<\n/MCID ${mcid}\n>>`, { mcid });
      target.addContent(page.dictionary, mcid);
    }
    this.marked = target;
  }

  /**
   * pdfkit's markContent(tag, options), as it writes it: the BDC operator with `properties`
   * (the options' dictionary, as pdfkit's PDFObject.convert writes it) and the page's
   * marking record that endMarkedContent pops. Its first step, closing sequences still open
   * on the page, never has anything to do here (one sequence at a time, closed by
   * endMarked before the next), and it walked the page's records and converted a
   * dictionary for every sequence on every page. pdfkit internals: without the
   * record list, pdfkit marks it.
   */
  private markContent(tag: string, properties: string, options: { mcid?: number; type?: string }): void {
    const page = this.doc.page as unknown as { markings?: unknown };
    if (!Array.isArray(page.markings)) {
      // pdfkit's MarkingOptions type lacks mcid, which markContent writes as /MCID.
      this.doc.markContent(tag, options as PDFKit.Mixins.MarkingOptions);
      return;
    }
    page.markings.push({ tag, options });
    this.doc.addContent(`/${tag} ${properties} BDC`);
  }

  private closeLink(): void {
    const link = this.link;
    if (!link) return;
    this.link = undefined;
    if (this.marked === link.tag) this.endMarked();
    link.tag.end();
  }
}
