//! RDF Dataset Canonicalization, URDNA2015 (the algorithm JSON-LD signatures of the
//! 2018-era suites use; identical to RDFC-1.0 with SHA-256 apart from literal escaping).

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};

use super::LdError;
use super::rdf::{Quad, Term, quad_to_nquad};

/// Bounds the work of the N-degree hashing, whose permutations grow factorially with the
/// number of blank nodes sharing a hash; credentials are far below this.
const MAX_PERMUTATIONS: usize = 100_000;

fn sha256_hex(data: &str) -> String {
    let digest = Sha256::digest(data.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    out
}

/// The identifier issuer of the canonicalization algorithm.
#[derive(Clone, Debug)]
struct IdIssuer {
    prefix: &'static str,
    counter: usize,
    issued: HashMap<String, String>,
    order: Vec<String>,
}

impl IdIssuer {
    fn new(prefix: &'static str) -> Self {
        Self {
            prefix,
            counter: 0,
            issued: HashMap::new(),
            order: Vec::new(),
        }
    }

    fn issue(&mut self, existing: &str) -> String {
        if let Some(id) = self.issued.get(existing) {
            return id.clone();
        }
        let id = format!("{}{}", self.prefix, self.counter);
        self.counter += 1;
        self.issued.insert(existing.to_string(), id.clone());
        self.order.push(existing.to_string());
        id
    }

    fn get(&self, existing: &str) -> Option<&String> {
        self.issued.get(existing)
    }
}

struct State<'a> {
    blank_to_quads: HashMap<String, Vec<&'a Quad>>,
    canonical: IdIssuer,
    first_degree_cache: HashMap<String, String>,
    permutations: usize,
}

fn components(q: &Quad) -> [(Option<&Term>, char); 3] {
    [
        (Some(&q.subject), 's'),
        (Some(&q.object), 'o'),
        (q.graph.as_ref(), 'g'),
    ]
}

impl State<'_> {
    /// Hash First Degree Quads (4.6).
    fn hash_first_degree(&mut self, id: &str) -> String {
        if let Some(h) = self.first_degree_cache.get(id) {
            return h.clone();
        }
        let mut nquads: Vec<String> = self
            .blank_to_quads
            .get(id)
            .map(|quads| {
                quads
                    .iter()
                    .map(|q| {
                        let relabel = |t: &Term| match t {
                            Term::Blank(b) if b == id => Term::Blank("_:a".into()),
                            Term::Blank(_) => Term::Blank("_:z".into()),
                            other => other.clone(),
                        };
                        quad_to_nquad(&Quad {
                            subject: relabel(&q.subject),
                            predicate: q.predicate.clone(),
                            object: relabel(&q.object),
                            graph: q.graph.as_ref().map(relabel),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        nquads.sort();
        let hash = sha256_hex(&nquads.concat());
        self.first_degree_cache.insert(id.to_string(), hash.clone());
        hash
    }

    /// Hash Related Blank Node (4.7).
    fn hash_related(
        &mut self,
        related: &str,
        quad: &Quad,
        issuer: &IdIssuer,
        position: char,
    ) -> String {
        let identifier = match self.canonical.get(related).or_else(|| issuer.get(related)) {
            Some(id) => id.clone(),
            None => self.hash_first_degree(related),
        };
        let mut input = String::new();
        input.push(position);
        if position != 'g' {
            input.push('<');
            if let Term::Iri(p) = &quad.predicate {
                input.push_str(p);
            }
            input.push('>');
        }
        input.push_str(&identifier);
        sha256_hex(&input)
    }

    /// Hash N-Degree Quads (4.8).
    fn hash_n_degree(&mut self, id: &str, issuer: IdIssuer) -> Result<(String, IdIssuer), LdError> {
        let mut issuer = issuer;
        let mut hash_to_related: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let quads = self.blank_to_quads.get(id).cloned().unwrap_or_default();
        for quad in quads {
            for (term, position) in components(quad) {
                if let Some(Term::Blank(related)) = term
                    && related != id
                {
                    let hash = self.hash_related(related, quad, &issuer, position);
                    hash_to_related
                        .entry(hash)
                        .or_default()
                        .push(related.clone());
                }
            }
        }
        let mut data_to_hash = String::new();
        for (hash, related_list) in hash_to_related {
            data_to_hash.push_str(&hash);
            let mut chosen_path = String::new();
            let mut chosen_issuer: Option<IdIssuer> = None;
            let mut perms = Permutations::new(related_list);
            'perm: while let Some(permutation) = perms.next_perm() {
                self.permutations += 1;
                if self.permutations > MAX_PERMUTATIONS {
                    return Err(LdError::Canonicalization(
                        "too many blank node permutations".into(),
                    ));
                }
                let mut issuer_copy = issuer.clone();
                let mut path = String::new();
                let mut recursion_list = Vec::new();
                for related in &permutation {
                    if let Some(c) = self.canonical.get(related) {
                        path.push_str(c);
                    } else {
                        if issuer_copy.get(related).is_none() {
                            recursion_list.push(related.clone());
                        }
                        path.push_str(&issuer_copy.issue(related));
                    }
                    if !chosen_path.is_empty()
                        && path.len() >= chosen_path.len()
                        && path > chosen_path
                    {
                        continue 'perm;
                    }
                }
                for related in recursion_list {
                    let (result_hash, result_issuer) =
                        self.hash_n_degree(&related, issuer_copy.clone())?;
                    issuer_copy = result_issuer;
                    path.push_str(&issuer_copy.issue(&related));
                    path.push('<');
                    path.push_str(&result_hash);
                    path.push('>');
                    if !chosen_path.is_empty()
                        && path.len() >= chosen_path.len()
                        && path > chosen_path
                    {
                        continue 'perm;
                    }
                }
                if chosen_path.is_empty() || path < chosen_path {
                    chosen_path = path;
                    chosen_issuer = Some(issuer_copy);
                }
            }
            data_to_hash.push_str(&chosen_path);
            if let Some(chosen) = chosen_issuer {
                issuer = chosen;
            }
        }
        Ok((sha256_hex(&data_to_hash), issuer))
    }
}

/// Lexicographic permutations of a list (starting from its sorted order); every order is
/// visited once, which is all the algorithm needs.
struct Permutations {
    items: Vec<String>,
    first: bool,
    done: bool,
}

impl Permutations {
    fn new(mut items: Vec<String>) -> Self {
        items.sort();
        Self {
            items,
            first: true,
            done: false,
        }
    }

    fn next_perm(&mut self) -> Option<Vec<String>> {
        if self.done {
            return None;
        }
        if self.first {
            self.first = false;
            return Some(self.items.clone());
        }
        let n = self.items.len();
        let Some(i) = (1..n).rev().find(|&i| self.items[i - 1] < self.items[i]) else {
            self.done = true;
            return None;
        };
        let pivot = i - 1;
        let Some(j) = (i..n).rev().find(|&j| self.items[j] > self.items[pivot]) else {
            self.done = true;
            return None;
        };
        self.items.swap(pivot, j);
        self.items[i..].reverse();
        Some(self.items.clone())
    }
}

/// Canonicalizes a dataset with URDNA2015 and returns the sorted canonical N-Quads.
pub(crate) fn canonicalize_quads(quads: &[Quad]) -> Result<String, LdError> {
    // A vaccination credential has a few hundred quads and a handful of blank nodes. The
    // N-degree hashing recurses through blank nodes that share first-degree hashes, so a
    // hostile document of many look-alike blank nodes could exhaust the stack or the CPU:
    // refuse anything far beyond a real credential first.
    const MAX_QUADS: usize = 5_000;
    const MAX_BLANK_NODES: usize = 200;
    if quads.len() > MAX_QUADS {
        return Err(LdError::Canonicalization(format!(
            "more than {MAX_QUADS} statements"
        )));
    }
    let mut blank_to_quads: HashMap<String, Vec<&Quad>> = HashMap::new();
    for q in quads {
        for (term, _) in components(q) {
            if let Some(id) = term.and_then(Term::blank_id) {
                // URDNA2015 as jsonld.js (rdf-canonize 1.x/2.x) and pyld implement it adds
                // the quad once per blank-node occurrence, so a self-loop counts twice in
                // the hashes; RDFC-1.0 later deduplicated, which would change signatures.
                blank_to_quads.entry(id.to_string()).or_default().push(q);
            }
        }
    }
    if blank_to_quads.len() > MAX_BLANK_NODES {
        return Err(LdError::Canonicalization(format!(
            "more than {MAX_BLANK_NODES} blank nodes"
        )));
    }
    let mut state = State {
        blank_to_quads,
        canonical: IdIssuer::new("_:c14n"),
        first_degree_cache: HashMap::new(),
        permutations: 0,
    };

    let mut ids: Vec<String> = state.blank_to_quads.keys().cloned().collect();
    ids.sort();
    let mut hash_to_blanks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for id in &ids {
        let h = state.hash_first_degree(id);
        hash_to_blanks.entry(h).or_default().push(id.clone());
    }
    let mut shared: Vec<Vec<String>> = Vec::new();
    for ids in hash_to_blanks.into_values() {
        if let [only] = ids.as_slice() {
            state.canonical.issue(only);
        } else {
            shared.push(ids);
        }
    }
    for ids in shared {
        let mut results = Vec::new();
        for id in ids {
            if state.canonical.get(&id).is_some() {
                continue;
            }
            let mut temp = IdIssuer::new("_:b");
            temp.issue(&id);
            results.push(state.hash_n_degree(&id, temp)?);
        }
        results.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, issuer) in results {
            for existing in &issuer.order {
                state.canonical.issue(existing);
            }
        }
    }

    let relabel = |t: &Term| -> Term {
        match t {
            Term::Blank(b) => {
                Term::Blank(state.canonical.get(b).cloned().unwrap_or_else(|| b.clone()))
            }
            other => other.clone(),
        }
    };
    let mut lines: Vec<String> = quads
        .iter()
        .map(|q| {
            quad_to_nquad(&Quad {
                subject: relabel(&q.subject),
                predicate: q.predicate.clone(),
                object: relabel(&q.object),
                graph: q.graph.as_ref().map(relabel),
            })
        })
        .collect();
    lines.sort();
    Ok(lines.concat())
}
